//! The web console end to end: real server, real PostgreSQL, a cookie-keeping HTTP client.

mod account;
mod assets;
mod audit_chain;
pub(crate) mod audit_trail;
mod audit_trust;
mod auth;
mod cli;
mod csrf;
mod edge;
mod insights;
mod invitations;
mod member_rules;
mod members;
mod ops;
mod outage;
mod provider_tab;
mod rechecks;
mod roles;
mod routing_tab;
mod serve;
mod setup;
mod setup_shared;
mod skills_tab;
mod support;
mod throttle;
mod tokens;
mod xss;
