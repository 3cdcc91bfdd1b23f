//! The web console end to end: real server, real PostgreSQL, a cookie-keeping HTTP client.

mod account;
mod audit_chain;
pub(crate) mod audit_trail;
mod auth;
mod cli;
mod csrf;
mod insights;
mod members;
mod ops;
mod provider_tab;
mod roles;
mod serve;
mod setup;
mod support;
