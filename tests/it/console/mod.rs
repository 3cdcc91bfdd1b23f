//! The web console end to end: real server, real PostgreSQL, a cookie-keeping HTTP client.

mod account;
mod assets;
mod auth;
mod cli;
mod csrf;
mod edge;
mod insights;
mod members;
mod ops;
mod outage;
mod provider_tab;
mod roles;
mod serve;
mod setup;
mod xss;
