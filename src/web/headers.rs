//! The security headers of every response (DESIGN.md "Security rules"): the web edge's own,
//! set by `DefaultHeaders` in the stack and by `errors::render_errors` on errors that bypass
//! it.

use actix_web::middleware::DefaultHeaders;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; \
                       frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The browser features no page of the console uses, denied to it and to anything it embeds.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), \
     payment=(), serial=(), usb=()";

/// `Strict-Transport-Security` when `SWITCHBOARD_PUBLIC_URL` is https.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The headers of every response (lower-case names; `render_errors` adds them itself to
/// errors that bypass `DefaultHeaders`).
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", PERMISSIONS_POLICY),
    // Only where a handler set nothing (hashed assets set their year-long cache): pages,
    // fragments, redirects and JSON carry org data and are never stored.
    ("cache-control", "no-store"),
];

/// The security headers of every response (`Strict-Transport-Security` too when `https`).
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = SECURITY_HEADERS
        .iter()
        .fold(DefaultHeaders::new(), |headers, pair| headers.add(*pair));
    match https {
        true => headers.add(("strict-transport-security", HSTS)),
        false => headers,
    }
}
