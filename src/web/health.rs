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

/// Marks the app of the `SWITCHBOARD_METRICS_BIND` listener.
#[derive(Clone, Copy, Debug)]
pub struct MetricsListener;

/// `GET /metrics`: the instance's metrics (OpenMetrics text, see [`crate::metrics`]). With
/// `SWITCHBOARD_METRICS_BIND` set, only that listener answers it; the console's is 404.
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.config.serving.metrics_bind.is_some() && req.app_data::<MetricsListener>().is_none() {
        return HttpResponse::from_error(crate::error::AppError::NotFound);
    }
    let pool = state.pool.status();
    let body = state.metrics.render(
        state.clock.now().timestamp(),
        pool.size,
        pool.available,
        pool.max_size,
    );
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body)
}
