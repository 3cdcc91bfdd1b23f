//! The web console end to end: real server, real PostgreSQL, a cookie-keeping HTTP client.

mod auth;
mod csrf;
mod insights;
mod roles;
