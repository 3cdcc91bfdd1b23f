//! The REST API (`/api/v1`) and MCP over real HTTP on loopback, with tokens made through
//! the operation layer as `switchboard token create` makes them.

mod ai_route;
mod audit;
mod auth;
mod bad_input;
mod compat;
mod extra_headers;
mod feature_routes;
pub(crate) mod findings;
mod mcp;
mod mcp_inspector;
mod mcp_records;
mod openapi;
mod providers;
mod rate;
mod route_cache;
pub mod schemathesis;
mod settings;
mod settings_atomic;
mod skills;
mod table;
pub mod traffic;

use chrono::TimeDelta;
use secrecy::ExposeSecret as _;
use switchboard::{
    models::{org::Org, user::User},
    ops::{
        Caller, Scope,
        tokens::{self, TokenInput},
    },
};

use crate::helpers::TestApp;

pub use crate::provider_ops::app_with_org;

/// A token for `owner` in `org` with `scopes`, made by an operator (as the CLI makes it).
pub async fn token(
    app: &TestApp,
    org: &Org,
    owner: &User,
    scopes: &[Scope],
    expires_in: Option<TimeDelta>,
) -> String {
    let created = tokens::create_token(
        &app.state,
        &Caller::operator(Some(org.clone())),
        TokenInput {
            name: format!("test token {}", scopes.len()),
            scopes: scopes.to_vec(),
            expires_in,
            owner_email: Some(owner.email.clone()),
        },
    )
    .await
    .expect("create token");
    created.secret.expose_secret().to_owned()
}

/// Every scope a token may carry.
pub fn all_scopes() -> Vec<Scope> {
    tokens::grantable().collect()
}

/// A plain HTTP client (no cookies).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
