//! Rate limits of `/api/v1` and `/mcp`: one GCRA bucket per client IP and one per bearer
//! token (keyed by the token's SHA-256, so no token is kept in memory), each allowing
//! `rate` requests a second with bursts of twice that. A refused request gets `429` with
//! `Retry-After` and the JSON error, before it costs a database statement.
//!
//! The buckets live in each process, as the API stack's own `web::Data<Limiter>` (no
//! operation uses them) (several instances each grant the full rate); see
//! docs/DECISIONS.md "Rate limits" for why that is enough here.

use std::{num::NonZeroU32, time::Duration};

use actix_web::{
    HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock as _};

use crate::config::Rates;

/// The buckets of one process.
pub struct Limiter {
    per_token: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    per_ip: Option<DefaultKeyedRateLimiter<std::net::IpAddr>>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(rate: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(rate)?;
    let burst = rate.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl Limiter {
    /// Buckets for `rates`.
    pub fn new(rates: Rates) -> Self {
        Self {
            per_token: keyed(rates.per_token),
            per_ip: keyed(rates.per_ip),
        }
    }

    /// Forgets buckets that are full again (idle clients), so memory follows the number of
    /// recently active clients.
    pub fn shrink(&self) {
        if let Some(l) = &self.per_token {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// `Err(wait)` when the request must wait: the IP's bucket first (a flood of made-up
    /// tokens is stopped there), then the token's.
    fn admit(&self, ip: Option<std::net::IpAddr>, token: Option<&str>) -> Result<(), Duration> {
        let clock = governor::clock::DefaultClock::default();
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter
                .check_key(&ip)
                .map_err(|not_until| not_until.wait_time_from(clock.now()))?;
        }
        if let (Some(limiter), Some(token)) = (&self.per_token, token) {
            let key = crate::crypto::sha256(token.as_bytes());
            limiter
                .check_key(&key)
                .map_err(|not_until| not_until.wait_time_from(clock.now()))?;
        }
        Ok(())
    }
}

/// The middleware of `/api/v1` and `/mcp`.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let verdict = req.app_data::<web::Data<Limiter>>().map(|limiter| {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        limiter.admit(crate::auth::context::client_ip(req.request()), token)
    });
    match verdict {
        Some(Err(wait)) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let res = HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, secs.max(1)))
                .json(serde_json::json!({"error": {
                    "code": "too_many_requests",
                    "message": format!("Too many requests; try again in {} s.", secs.max(1)),
                }}));
            Ok(req.into_response(res))
        }
        _ => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}
