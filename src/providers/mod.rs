//! Provider catalog, live connectivity checks per protocol, and the egress guard.
