//! Liveness and readiness probes, and Prometheus metrics.

use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl as _;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// `GET /readyz`: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if ready {
        HttpResponse::Ok()
            .content_type("text/plain")
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .insert_header((
                actix_web::http::header::RETRY_AFTER,
                crate::db::outage::RETRY_AFTER_SECS,
            ))
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .body("database unavailable")
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    use std::{
        fmt::Write as _,
        sync::atomic::{AtomicU64, Ordering},
    };

    use crate::telemetry::counters::{RESPONSES, SQL_STATEMENTS};
    let pool = state.pool.status();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP switchboard_http_responses_total HTTP responses by status class."
    );
    let _ = writeln!(out, "# TYPE switchboard_http_responses_total counter");
    for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
        let _ = writeln!(
            out,
            "switchboard_http_responses_total{{class=\"{class}\"}} {}",
            AtomicU64::load(&RESPONSES[i], Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP switchboard_sql_statements_total SQL statements sent to PostgreSQL."
    );
    let _ = writeln!(out, "# TYPE switchboard_sql_statements_total counter");
    let _ = writeln!(
        out,
        "switchboard_sql_statements_total {}",
        AtomicU64::load(&SQL_STATEMENTS, Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP switchboard_db_pool_connections Open pooled database connections."
    );
    let _ = writeln!(out, "# TYPE switchboard_db_pool_connections gauge");
    let _ = writeln!(out, "switchboard_db_pool_connections {}", pool.size);
    let _ = writeln!(out, "switchboard_db_pool_available {}", pool.available);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
