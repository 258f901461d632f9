//! What handlers read from a request: [`Head`] (headers, query parameters as Lambda parsed
//! them, path parameters decoded once), [`RawBody`] and [`Json`] with the APIs' limits and
//! error codes.
use super::edge::{path_params, HttpError, RoutePath};
use super::{bounded_limit, MAX_JSON_BODY};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::RequestExt;
use scrm_core::http::ApiError;
use serde::de::DeserializeOwned;
use std::convert::Infallible;

/// A request's headers, query and path parameters.
#[derive(Debug, Clone)]
pub struct Head {
    headers: HeaderMap,
    query: Option<QueryMap>,
    params: Vec<String>,
}

impl Head {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter (decoded once, as lambda_http parsed it from the raw query).
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .as_ref()
            .and_then(|q| q.first(name).map(str::to_string))
    }

    /// The `i`-th path parameter of the route's template, decoded; empty if there is none.
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    /// A bounded page size from the `limit` query parameter.
    pub fn page_limit(&self, default: i32, max: i32) -> Result<i32, ApiError> {
        bounded_limit(self.query("limit"), default, max)
    }

    /// The `i`-th path parameter as an id (see [`path_id`]); `what` names it in the error.
    pub fn id(&self, i: usize, what: &str) -> Result<&str, ApiError> {
        path_id(self.param(i), what)
    }
}

/// The longest id a path may carry, in characters (ids are WeCom's, ULIDs or names an
/// operator chose; none comes near it).
pub const MAX_PATH_ID_CHARS: usize = 128;

/// An id from a path: 1 to [`MAX_PATH_ID_CHARS`] characters without `#` (the store's key
/// separator) or control characters, else 400 `validation_failed`. Checked before any
/// look-up, so an id the store cannot hold never reaches it. (The OpenAPI files state the
/// same as `minLength`, `maxLength` and `pattern`.)
pub fn path_id<'a>(raw: &'a str, what: &str) -> Result<&'a str, ApiError> {
    if raw.is_empty()
        || raw.chars().count() > MAX_PATH_ID_CHARS
        || raw.contains('#')
        || raw.chars().any(char::is_control)
    {
        return Err(ApiError::validation(format!(
            "{what} must be 1 to {MAX_PATH_ID_CHARS} characters without `#`"
        )));
    }
    Ok(raw)
}

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params = parts
            .extensions
            .get::<RoutePath>()
            .map(|t| path_params(t.0, parts.uri.path()))
            .unwrap_or_default();
        Ok(Head {
            headers: parts.headers.clone(),
            query: parts.query_string_parameters_ref().cloned(),
            params,
        })
    }
}

/// The whole body, as it arrived (Lambda delivers it in one piece; each route applies its
/// own limit).
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .map(RawBody)
            .map_err(|e| {
                tracing::error!(error = %e, "request body unreadable");
                ApiError::internal().into()
            })
    }
}

/// A JSON body of at most [`MAX_JSON_BODY`] bytes, parsed into `T` (see [`json_body`]).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        Ok(Json(json_body(&bytes, MAX_JSON_BODY)?))
    }
}

/// Parses a JSON body of at most `limit` bytes into `T`, rejecting an oversized (413
/// `body_too_large`), empty or malformed (400 `invalid_json`) or unfitting (400
/// `validation_failed`) body: never a panic, never a partial change. Every body these
/// APIs take is a JSON object; another JSON value is unfitting even where serde would read
/// a struct from an array.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "a JSON body is required",
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::validation("the body must be a JSON object"),
                Err(e) => {
                    ApiError::bad_request("invalid_json", format!("invalid request body: {e}"))
                }
            },
        );
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "invalid_json"
        } else {
            "validation_failed"
        };
        ApiError::bad_request(code, format!("invalid request body: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Profile {
        name: Option<String>,
    }

    fn code(bytes: &[u8]) -> &'static str {
        json_body::<Profile>(bytes, 100).unwrap_err().code
    }

    #[test]
    fn only_a_json_object_of_the_right_shape_is_read() {
        assert_eq!(
            json_body::<Profile>(br#" {"name": "a"}"#, 100)
                .unwrap()
                .name
                .as_deref(),
            Some("a")
        );
        // serde reads a struct from an array; the APIs never take one.
        assert_eq!(code(b"[null]"), "validation_failed");
        assert_eq!(code(b"\"x\""), "validation_failed");
        assert_eq!(code(br#"{"name": 1}"#), "validation_failed");
        assert_eq!(code(b"{"), "invalid_json");
        assert_eq!(code(b""), "invalid_json");
        // Bytes that are not UTF-8 are malformed JSON: 400, never a 500.
        assert_eq!(code(&[b'{', 0xff, 0xfe, b'}']), "invalid_json");
        assert_eq!(code(&[b'+', 0xd8, 0x9e]), "invalid_json");
        assert_eq!(
            json_body::<Profile>(&[b' '; 101], 100).unwrap_err().status,
            413
        );
    }

    #[test]
    fn path_ids_the_store_cannot_hold_are_refused() {
        assert_eq!(path_id("01J9ZX", "job_id").unwrap(), "01J9ZX");
        assert_eq!(
            path_id(&"客".repeat(128), "job_id")
                .unwrap()
                .chars()
                .count(),
            128
        );
        for bad in ["", "a#b", "a\nb", "a\u{85}b", &"x".repeat(129)] {
            let err = path_id(bad, "job_id").unwrap_err();
            assert_eq!(
                (err.status, err.code),
                (400, "validation_failed"),
                "{bad:?}"
            );
        }
    }
}
