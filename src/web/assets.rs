//! Static assets compiled into the binary, so the console runs from anywhere.
//! htmx is vendored from the npm package `htmx.org` (version in README.md).
//!
//! Each asset is served at `/static/{hash}/{file}`, the hash taken from its embedded bytes
//! at start-up, with a year's `immutable` cache: a browser fetches htmx once per release,
//! not once per page. Templates name assets only through [`url`], so every URL carries the
//! hash. The unversioned `/static/{file}` stays for old links, cached briefly.

use std::sync::LazyLock;

use std::io::Write as _;

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use crate::error::AppError;

struct Asset {
    file: &'static str,
    body: &'static [u8],
    content_type: &'static str,
}

const ASSETS: [Asset; 5] = [
    Asset {
        file: "htmx.min.js",
        body: include_bytes!("../../static/htmx.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        file: "app.css",
        body: include_bytes!("../../static/app.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        file: "console.js",
        body: include_bytes!("../../static/console.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        file: "confirm.js",
        body: include_bytes!("../../static/confirm.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        file: "favicon.svg",
        body: include_bytes!("../../static/favicon.svg"),
        content_type: "image/svg+xml",
    },
];

/// The cache policy of a hashed asset URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `/static/{hash}/{file}` for every asset, in [`ASSETS`] order.
static URLS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = crate::crypto::sha256(a.body);
            let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            (hash.clone(), format!("/static/{hash}/{}", a.file))
        })
        .collect()
});

/// Every asset gzipped at the best level, once (a page's htmx is then ~15 KB on the wire;
/// actix's on-the-fly gzip uses the fastest level). The SVG icon is tiny but compresses too.
static GZIPPED: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(a.body).expect("gzip into memory");
            gz.finish().expect("gzip into memory")
        })
        .collect()
});

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && !parts.any(|p| p.replace(' ', "") == "q=0")
        })
}

/// The response for asset `i`: gzipped when the client takes it (the `Compress` middleware
/// leaves a response that names its encoding alone).
fn respond(req: &HttpRequest, i: usize, cache: &'static str) -> HttpResponse {
    let asset = &ASSETS[i];
    let mut res = HttpResponse::Ok();
    res.content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"));
    match accepts_gzip(req) {
        true => res
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(GZIPPED[i].as_slice()),
        false => res
            .insert_header((header::CONTENT_ENCODING, "identity"))
            .body(asset.body),
    }
}

/// The versioned URL of asset `file` (e.g. `url("htmx.min.js")`). An unknown name is a
/// bug in a template; it yields a URL that answers 404.
pub fn url(file: &str) -> &'static str {
    ASSETS
        .iter()
        .position(|a| a.file == file)
        .map_or("/static/unknown", |i| URLS[i].1.as_str())
}

fn find(file: &str) -> Result<(usize, &'static Asset), AppError> {
    ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.file == file)
        .ok_or(AppError::NotFound)
}

/// `GET /static/{hash}/{file}`: only the current hash is served (an old or forged hash
/// is a 404, so nothing is cached for a year under the wrong name).
pub async fn serve_versioned(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (hash, file) = path.into_inner();
    let (i, _) = find(&file)?;
    if URLS[i].0 != hash {
        return Err(AppError::NotFound);
    }
    Ok(respond(&req, i, IMMUTABLE))
}

/// `GET /static/{file}`: the unversioned spelling, for links from before hashing.
pub async fn serve(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (i, _) = find(&file)?;
    Ok(respond(&req, i, "public, max-age=300"))
}
