//! The web console end to end: real server, real PostgreSQL, a cookie-keeping HTTP client.

mod account;
mod auth;
mod cli;
mod csrf;
mod insights;
mod invitations;
mod member_rules;
mod members;
mod ops;
mod provider_tab;
mod rechecks;
mod roles;
mod routing_tab;
mod serve;
mod setup;
mod skills_tab;
