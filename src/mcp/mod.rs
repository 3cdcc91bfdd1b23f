//! `POST /mcp`: the operations as MCP tools (DESIGN.md "REST API"), with rmcp.
//!
//! The same bearer tokens and scopes as `/api/v1`: a token acts for its own org (no org in
//! the path), each tool calls one operation with the token's caller, and the operation checks
//! the scope. Stateless streamable HTTP with JSON answers: nothing about a client is kept
//! between requests, so any instance can serve any request (docs/DECISIONS.md "MCP").

pub mod http;
pub mod io;
pub mod models;
pub mod records;
pub mod schema;
pub mod tools;

use actix_web::{dev::HttpServiceFactory, middleware::from_fn, web};

use crate::api::{no_endpoint, rate};

/// The MCP endpoint (`POST /mcp`), behind the API's rate limits; other paths answer the
/// API's JSON `no_endpoint`.
pub fn scope() -> impl HttpServiceFactory {
    web::scope("/mcp")
        .configure(routes)
        .default_service(web::to(no_endpoint))
        .wrap(from_fn(rate::limit))
}

/// The routes of `/mcp`, relative to it: `POST /mcp` is the MCP endpoint; other methods get
/// 405; paths below it don't exist.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(http::service()))
        .route("", web::post().to(http::post))
        .route("", web::route().to(http::method_not_allowed));
}
