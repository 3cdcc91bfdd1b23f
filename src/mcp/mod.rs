//! `POST /mcp`: the operations as MCP tools (stub: issue 11 adds the rmcp server).

use actix_web::{dev::HttpServiceFactory, web};

/// The `/mcp` scope.
pub fn scope() -> impl HttpServiceFactory {
    web::scope("/mcp").default_service(web::to(crate::api::no_endpoint))
}
