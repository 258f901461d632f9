//! The one HTTP edge of the function-URL APIs: an axum [`Router`] built from a route table
//! ([`Routes`], which the OpenAPI files are checked against), served on `lambda_http`.
//!
//! Every request goes through [`Edge::call`]:
//! - its path is normalised as the APIs always read it (empty segments ignored, segments
//!   percent-decoded), so routing sees `/v1/tenant/` and `//v1/tenant` as `/v1/tenant`;
//! - one span (`request`) carries the API, the request id (Lambda's, or a fresh ULID outside
//!   Lambda), the matched route and, once authenticated, the tenant (and the staff member),
//!   so every line a request logs carries them;
//! - an unknown path is `404 not_found`, a known path with another method `405
//!   method_not_allowed` with `Allow` naming the path's methods (`HEAD` included: a `GET`
//!   route does not answer it);
//! - an [`ApiError`] becomes `{"error": {"code", "message", "details"?}}`, logged once;
//! - with [`Cors`], every served path answers browsers' preflights (`OPTIONS`, no
//!   credentials needed) and every answer carries `Access-Control-Allow-Origin: *`.
use super::{error_body, request_id};
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::uri::PathAndQuery;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use lambda_http::Service;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use scrm_core::http::ApiError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use tracing::Instrument;

/// One served route: a method and a path template as the OpenAPI files write it
/// (`/v1/customers/{external_userid}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
}

/// What an API tells browsers calling it cross-origin. A wildcard origin is only safe for
/// an API whose credential is a bearer token the page sends explicitly (never a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cors {
    /// `Access-Control-Allow-Methods` of a preflight answer.
    pub allow_methods: &'static str,
    /// `Access-Control-Allow-Headers` of a preflight answer.
    pub allow_headers: &'static str,
    /// `Access-Control-Max-Age` of a preflight answer, seconds.
    pub max_age: &'static str,
}

/// The template of the route a request matched (set by the router for the extractors).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoutePath(pub(crate) &'static str);

/// An API's route table: the one list its router is built from, and that its OpenAPI file
/// is checked against.
pub struct Routes<S> {
    name: &'static str,
    table: Vec<Route>,
    paths: BTreeMap<&'static str, MethodRouter<S>>,
    cors: Option<Cors>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// An empty table for the API `name` (the `api` field of its request span).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            table: Vec::new(),
            paths: BTreeMap::new(),
            cors: None,
        }
    }

    /// Answers browsers' preflights on every served path and marks every answer as
    /// readable from any origin.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Serves `method path` with `handler`. A method and path served twice is a bug: it
    /// panics when the table is built (which the tests do).
    pub fn route<H, T>(mut self, method: &'static str, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let route = Route { method, path };
        assert!(!self.table.contains(&route), "{method} {path} routed twice");
        let filter = Method::from_bytes(method.as_bytes())
            .ok()
            .and_then(|m| MethodFilter::try_from(m).ok())
            .unwrap_or_else(|| panic!("{method} is not a routable method"));
        let methods = self.paths.remove(path).unwrap_or_default();
        self.paths.insert(path, methods.on(filter, handler));
        self.table.push(route);
        self
    }

    /// `GET path`.
    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route("GET", path, handler)
    }
    /// `POST path`.
    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route("POST", path, handler)
    }
    /// `PUT path`.
    pub fn put<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route("PUT", path, handler)
    }
    /// `PATCH path`.
    pub fn patch<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route("PATCH", path, handler)
    }
    /// `DELETE path`.
    pub fn delete<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route("DELETE", path, handler)
    }

    /// Every served route, in the order they were added (preflights not included).
    pub fn routes(&self) -> Vec<Route> {
        self.table.clone()
    }

    /// The router of the table over `state`, with the edge around it.
    pub fn into_edge(self, state: S) -> Edge {
        let mut router = Router::new();
        for (path, mut methods) in self.paths {
            let served = |m: &str| self.table.iter().any(|r| r.path == path && r.method == m);
            // What a 405 on this path lists in `Allow` (RFC 9110 §15.5.6): the served
            // methods, and OPTIONS where preflights are answered.
            let mut allowed: Vec<&str> = self
                .table
                .iter()
                .filter(|r| r.path == path)
                .map(|r| r.method)
                .collect();
            if self.cors.is_some() && !served("OPTIONS") {
                allowed.push("OPTIONS");
            }
            let allow = HeaderValue::from_str(&allowed.join(", "))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            let not_allowed = move || {
                let allow = allow.clone();
                async move { method_not_allowed(allow) }
            };
            // axum answers HEAD with the GET handler; these APIs never did.
            if served("GET") && !served("HEAD") {
                methods = methods.on(MethodFilter::HEAD, not_allowed.clone());
            }
            if let Some(cors) = self.cors.filter(|_| !served("OPTIONS")) {
                methods = methods.on(
                    MethodFilter::OPTIONS,
                    move || async move { preflight(cors) },
                );
            }
            let methods = methods.fallback(not_allowed).layer(from_fn(
                move |mut req: Request, next: Next| async move {
                    tracing::Span::current().record("route", path);
                    req.extensions_mut().insert(RoutePath(path));
                    next.run(req).await
                },
            ));
            router = router.route(path, methods);
        }
        Edge {
            name: self.name,
            router: router.fallback(not_found).with_state(state),
            cors: self.cors,
        }
    }
}

/// An API's router with the edge around it; cheap to clone, built once per container.
#[derive(Clone)]
pub struct Edge {
    name: &'static str,
    router: Router,
    cors: Option<Cors>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Answers one request.
    pub async fn call(&self, req: lambda_http::Request) -> Response {
        let span = tracing::info_span!(
            "request",
            api = self.name,
            request_id = %request_id(&req),
            route = tracing::field::Empty,
            tenant = tracing::field::Empty,
            userid = tracing::field::Empty,
        );
        let mut router = self.router.clone();
        let answer = router.call(normalise(req)).instrument(span).await;
        let mut resp = match answer {
            Ok(resp) => resp,
            Err(never) => match never {},
        };
        // No `Content-Length` added by the router (Lambda's front end sets the length), and
        // `Allow` only on a 405, as the route table says.
        let allow = (resp.status() == StatusCode::METHOD_NOT_ALLOWED)
            .then(|| resp.extensions().get::<AllowedMethods>().cloned())
            .flatten();
        let headers = resp.headers_mut();
        headers.remove(ALLOW);
        headers.remove(CONTENT_LENGTH);
        if let Some(AllowedMethods(allow)) = allow {
            headers.insert(ALLOW, allow);
        }
        if self.cors.is_some() {
            headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        }
        resp
    }

    /// Answers one request as Lambda would send it (the body converted by `lambda_http`,
    /// as [`Edge::serve`] does): the entry point of tests and benchmarks.
    pub async fn respond(
        &self,
        req: lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body> {
        lambda_http::IntoResponse::into_response(self.call(req).await).await
    }

    /// Serves requests from the Lambda runtime until it stops.
    pub async fn serve(self) -> Result<(), lambda_http::Error> {
        lambda_http::run(lambda_http::service_fn(move |req| {
            let edge = self.clone();
            async move { Ok::<_, Infallible>(edge.call(req).await) }
        }))
        .await
    }
}

/// Path characters kept encoded after decoding a segment, so that the router sees one
/// segment per segment and the extractors decode it once.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The request with its path as the APIs read it: non-empty segments, each decoded (an
/// invalid UTF-8 sequence replaced) and re-encoded canonically.
fn normalise(mut req: lambda_http::Request) -> lambda_http::Request {
    let uri = req.uri();
    let mut path = String::with_capacity(uri.path().len());
    for segment in uri.path().split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        path.extend(utf8_percent_encode(&decoded, SEGMENT));
    }
    if path.is_empty() {
        path.push('/');
    }
    if path == uri.path() {
        return req;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// The path parameters of `template` in `path` (a normalised path), decoded, in order.
pub(crate) fn path_params(template: &str, path: &str) -> Vec<String> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .zip(path.split('/').filter(|s| !s.is_empty()))
        .filter(|(part, _)| part.starts_with('{') && part.ends_with('}'))
        .map(|(_, seg)| percent_decode_str(seg).decode_utf8_lossy().into_owned())
        .collect()
}

async fn not_found() -> HttpError {
    ApiError::not_found("no such endpoint").into()
}

/// The methods a path serves, carried by its 405 answer to [`Edge::call`].
#[derive(Debug, Clone)]
struct AllowedMethods(HeaderValue);

fn method_not_allowed(allow: HeaderValue) -> Response {
    let mut resp = HttpError(ApiError::method_not_allowed()).into_response();
    resp.extensions_mut().insert(AllowedMethods(allow));
    resp
}

/// A CORS preflight: 204 with what the page may send. Needs no credential (browsers never
/// send one on a preflight).
fn preflight(cors: Cors) -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (
                "access-control-allow-methods",
                HeaderValue::from_static(cors.allow_methods),
            ),
            (
                "access-control-allow-headers",
                HeaderValue::from_static(cors.allow_headers),
            ),
            (
                "access-control-max-age",
                HeaderValue::from_static(cors.max_age),
            ),
        ],
    )
        .into_response()
}

/// An [`ApiError`] on its way to the caller: what handlers and extractors fail with. Any
/// error core maps to an [`ApiError`] converts with `?`.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl<E> From<E> for HttpError
where
    ApiError: From<E>,
{
    fn from(e: E) -> Self {
        HttpError(ApiError::from(e))
    }
}

impl IntoResponse for HttpError {
    /// The one rendering of an error, logged once in the request's span. 5xx bodies are
    /// opaque; their cause was logged where it happened.
    fn into_response(self) -> Response {
        let err = self.0;
        if err.status >= 500 {
            tracing::error!(code = err.code, "request failed");
        } else {
            tracing::info!(status = err.status, code = err.code, "request rejected");
        }
        json(err.status, &error_body(&err))
    }
}

/// What a handler answers.
pub type Reply = Result<Response, HttpError>;

/// A JSON response (`content-type: application/json`).
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        text,
    )
        .into_response()
}

/// Records the authenticated tenant on the request's span.
pub fn record_tenant(tenant: &str) {
    tracing::Span::current().record("tenant", tenant);
}

/// Records the authenticated staff member on the request's span.
pub fn record_user(userid: &str) {
    tracing::Span::current().record("userid", userid);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri_of(path: &str) -> String {
        let req = lambda_http::http::Request::builder()
            .uri(format!("https://fn.local{path}"))
            .body(lambda_http::Body::Empty)
            .unwrap();
        normalise(req).uri().path_and_query().unwrap().to_string()
    }

    #[test]
    fn paths_are_read_as_the_apis_always_read_them() {
        assert_eq!(uri_of("/v1/tenant"), "/v1/tenant");
        assert_eq!(uri_of("//v1//tenant/?a=b"), "/v1/tenant?a=b");
        assert_eq!(uri_of("/v1/%74enant"), "/v1/tenant");
        assert_eq!(uri_of("/v1/c/a%2Fb"), "/v1/c/a%2Fb");
        assert_eq!(uri_of("/v1/c/%FF"), "/v1/c/%EF%BF%BD");
        assert_eq!(uri_of(""), "/");
    }

    fn req(method: &str, path: &str) -> lambda_http::Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://fn.local{path}"))
            .body(lambda_http::Body::Empty)
            .unwrap()
    }

    async fn echo(head: super::super::Head) -> Reply {
        Ok(json(200, &serde_json::json!({ "id": head.param(0) })))
    }

    async fn refuse() -> Reply {
        Err(ApiError::conflict("taken", "already taken")
            .with_details(serde_json::json!({"n": 1}))
            .into())
    }

    fn edge(cors: Option<Cors>) -> Edge {
        let mut routes = Routes::new("test")
            .get("/v1/things/{id}", echo)
            .post("/v1/things", refuse);
        if let Some(c) = cors {
            routes = routes.cors(c);
        }
        assert_eq!(
            routes.routes(),
            vec![
                Route {
                    method: "GET",
                    path: "/v1/things/{id}"
                },
                Route {
                    method: "POST",
                    path: "/v1/things"
                }
            ]
        );
        routes.into_edge(())
    }

    async fn answer(edge: &Edge, method: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
        let resp = edge.respond(req(method, path)).await;
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = String::from_utf8(resp.body().to_vec()).unwrap();
        (resp.status().as_u16(), headers, body)
    }

    #[tokio::test]
    async fn routes_errors_and_methods_answer_as_the_apis_always_did() {
        let e = edge(None);
        let (status, headers, body) = answer(&e, "GET", "//v1/things/a%2Fb/").await;
        assert_eq!((status, body.as_str()), (200, r#"{"id":"a/b"}"#));
        assert_eq!(
            headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        let (status, _, body) = answer(&e, "POST", "/v1/things").await;
        assert_eq!(
            (status, body.as_str()),
            (
                409,
                r#"{"error":{"code":"taken","details":{"n":1},"message":"already taken"}}"#
            )
        );
        let (status, _, body) = answer(&e, "GET", "/v1/nothing").await;
        assert_eq!(
            (status, body.as_str()),
            (
                404,
                r#"{"error":{"code":"not_found","message":"no such endpoint"}}"#
            )
        );
        for (method, path, allow) in [
            ("DELETE", "/v1/things/x", "GET"),
            ("HEAD", "/v1/things/x", "GET"),
            ("GET", "/v1/things", "POST"),
            ("OPTIONS", "/v1/things", "POST"),
        ] {
            let (status, headers, _) = answer(&e, method, path).await;
            assert_eq!(status, 405, "{method} {path}");
            let allows: Vec<&str> = headers
                .iter()
                .filter(|(k, _)| k == "allow")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(allows, vec![allow], "{method} {path}");
        }
        let (_, _, body) = answer(&e, "PUT", "/v1/things").await;
        assert!(body.contains(r#""code":"method_not_allowed""#), "{body}");
    }

    #[tokio::test]
    async fn cors_answers_preflights_on_served_paths_and_marks_every_answer() {
        let cors = Cors {
            allow_methods: "GET, POST, OPTIONS",
            allow_headers: "authorization",
            max_age: "600",
        };
        let e = edge(Some(cors));
        let (status, headers, body) = answer(&e, "OPTIONS", "/v1/things/x").await;
        assert_eq!((status, body.as_str()), (204, ""));
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("access-control-allow-origin").as_deref(), Some("*"));
        assert_eq!(
            header("access-control-allow-methods").as_deref(),
            Some("GET, POST, OPTIONS")
        );
        assert_eq!(header("access-control-max-age").as_deref(), Some("600"));
        let (status, headers, _) = answer(&e, "OPTIONS", "/v1/nope").await;
        assert_eq!(status, 404);
        assert!(headers
            .iter()
            .any(|(k, v)| k == "access-control-allow-origin" && v == "*"));
        let (status, headers, _) = answer(&e, "POST", "/v1/things").await;
        assert_eq!(status, 409);
        assert!(headers
            .iter()
            .any(|(k, _)| k == "access-control-allow-origin"));
    }

    #[test]
    fn parameters_are_decoded_once() {
        assert_eq!(
            path_params("/v1/c/{id}/x/{n}", "/v1/c/a%2Fb%23/x/%E4%B8%AD"),
            vec!["a/b#".to_string(), "中".to_string()]
        );
        assert!(path_params("/v1/c", "/v1/c").is_empty());
    }
}
