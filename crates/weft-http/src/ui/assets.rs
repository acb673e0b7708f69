//! The stylesheet, script and icon, compiled into the binary. Pages link them with a content
//! hash in the query, so browsers may cache them for a year and still see every new release.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset { name: "weft.css", content_type: "text/css; charset=utf-8", body: include_str!("../../assets/weft.css") },
    Asset {
        name: "weft.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/weft.js"),
    },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_str!("../../assets/icon.svg") },
];

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// Each asset's content hash (the first 16 hex digits of its SHA-256).
static VERSIONS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| hex::encode(&Sha256::digest(asset.body)[..8])).collect());

/// The address to link an asset by: its name and content hash.
pub fn url(name: &str) -> String {
    let index = ASSETS.iter().position(|asset| asset.name == name).expect("a known asset");
    format!("/assets/{name}?v={}", VERSIONS[index])
}

pub async fn serve(Path(name): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let asset = &ASSETS[index];
    let etag = HeaderValue::from_str(&format!("\"{}\"", VERSIONS[index])).expect("hex digits in quotes");
    let revalidated = request_headers.get(header::IF_NONE_MATCH) == Some(&etag);
    let headers = [(header::ETAG, etag), (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_FOREVER))];
    if revalidated {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body).into_response()
}
