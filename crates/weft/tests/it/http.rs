//! The HTTP contract every endpoint shares: problem+json errors, request ids, security headers,
//! CORS, limits, health, readiness and metrics.

use reqwest::Method;
use serde_json::{Value, json};
use weft_http::Problem;
use weft_testkit::{TestApp, backend_test, expect_status};

async fn problem(response: reqwest::Response, status: u16) -> Problem {
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json", "status {}", response.status());
    let problem: Problem = expect_status(response, status).await;
    assert_eq!(problem.status, status);
    assert!(problem.type_uri.starts_with("https://weft.dev/problems/"), "{}", problem.type_uri);
    assert!(problem.request_id.as_deref().is_some_and(|id| !id.is_empty()), "problems carry the request id");
    problem
}

fn raw_post(app: &TestApp, path: &str, content_type: &str, body: &'static str) -> reqwest::RequestBuilder {
    app.request(Method::POST, path, None).header("content-type", content_type).body(body)
}

backend_test! {
    async fn unknown_routes_and_methods_are_problems(backend) {
        let app = TestApp::spawn(backend).await;
        let p = problem(app.get("/no/such/thing", None).await, 404).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/not-found");
        problem(app.get("/api/v1/nothing-here", None).await, 404).await;
        let p = problem(app.delete("/api/v1/auth/login", None).await, 405).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/method-not-allowed");
    }
}

backend_test! {
    async fn bad_bodies_get_precise_problems(backend) {
        let app = TestApp::spawn(backend).await;
        let path = "/api/v1/auth/register";

        let p = problem(raw_post(&app, path, "application/json", "{\"email\": ").send().await.unwrap(), 400).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/malformed-json");
        problem(raw_post(&app, path, "application/json", "").send().await.unwrap(), 400).await;

        let p = problem(raw_post(&app, path, "text/plain", "{}").send().await.unwrap(), 415).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/unsupported-media-type");
        problem(app.request(Method::POST, path, None).body("{}").send().await.unwrap(), 415).await;

        let p = problem(app.post(path, None, &json!({"email": "a@b.io", "password": "x"})).await, 422).await;
        assert_eq!(p.errors[0].pointer, "/name", "missing field");
        let p = problem(app.post(path, None, &json!({"email": 5, "password": "x", "name": "n"})).await, 422).await;
        assert_eq!(p.errors[0].pointer, "/email", "wrong type");
        let body = json!({"email": "a@b.io", "password": "long enough pass", "name": "n", "admin": true});
        let p = problem(app.post(path, None, &body).await, 422).await;
        assert_eq!(p.errors[0].pointer, "/admin", "unknown field");
        problem(app.post(path, None, &json!([1, 2])).await, 422).await;
    }
}

backend_test! {
    async fn oversize_bodies_are_refused_with_413(backend) {
        let app = TestApp::spawn_with(backend, |config| config.body_limit_bytes = 2048).await;
        let big = json!({"email": "a@b.io", "password": "x".repeat(4096), "name": "n"});
        let p = problem(app.post("/api/v1/auth/register", None, &big).await, 413).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/payload-too-large");
        assert!(p.detail.contains("2048"), "{}", p.detail);
    }
}

backend_test! {
    async fn request_ids_are_echoed_or_generated(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.request(Method::GET, "/healthz", None).header("x-request-id", "trace-42").send().await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-42");
        let response = app.get("/nope", None).await;
        let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(generated.len(), 26);
        let p = problem(response, 404).await;
        assert_eq!(p.request_id.as_deref(), Some(generated.as_str()), "the problem names the same id");
        let spoofed = app.request(Method::GET, "/healthz", None).header("x-request-id", "a b").send().await.unwrap();
        assert_ne!(spoofed.headers()["x-request-id"], "a b", "unprintable ids are replaced");
    }
}

backend_test! {
    async fn security_headers_are_set_and_hsts_only_over_https(backend) {
        let app = TestApp::spawn_with(backend, |config| config.trust_proxy = true).await;
        let response = app.get("/healthz", None).await;
        let headers = response.headers();
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(headers.get("strict-transport-security").is_none(), "plain http gets no HSTS");
        let behind_tls =
            app.request(Method::GET, "/healthz", None).header("x-forwarded-proto", "https").send().await.unwrap();
        assert!(behind_tls.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    }
}

backend_test! {
    async fn forwarded_proto_is_ignored_unless_the_proxy_is_trusted(backend) {
        let app = TestApp::spawn(backend).await;
        let response =
            app.request(Method::GET, "/healthz", None).header("x-forwarded-proto", "https").send().await.unwrap();
        assert!(response.headers().get("strict-transport-security").is_none());
    }
}

backend_test! {
    async fn cors_answers_only_allowed_origins(backend) {
        let app =
            TestApp::spawn_with(backend, |config| config.cors_origins = vec!["https://app.example".into()]).await;
        let preflight = |origin: &'static str| {
            app.request(Method::OPTIONS, "/api/v1/me", None)
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .send()
        };
        let allowed = preflight("https://app.example").await.unwrap();
        assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
        let refused = preflight("https://evil.example").await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none());
    }
}

backend_test! {
    async fn health_readiness_and_metrics(backend) {
        let app = TestApp::spawn(backend).await;
        let health: Value = expect_status(app.get("/healthz", None).await, 200).await;
        assert_eq!(health["status"], "ok");
        let ready: Value = expect_status(app.get("/readyz", None).await, 200).await;
        assert_eq!(ready["status"], "ready");
        app.get("/api/v1/me", None).await;

        let response = app.get("/metrics", None).await;
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
        let text = response.text().await.unwrap();
        for expected in [
            r#"weft_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#,
            r#"weft_http_requests_total{method="GET",route="/readyz",status="200"}"#,
            "weft_http_request_duration_seconds_bucket{",
            r#"weft_db_pool_connections{state="idle"}"#,
            r#"weft_db_pool_connections{state="in_use"}"#,
            "weft_build_info{version=",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}

backend_test! {
    async fn readiness_fails_with_a_problem_when_migrations_are_not_current(backend) {
        let app = TestApp::spawn(backend).await;
        app.forget_migrations().await;
        let p = problem(app.get("/readyz", None).await, 503).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/unavailable");
        assert!(p.detail.contains("weft migrate"), "{}", p.detail);
    }
}

backend_test! {
    async fn shutdown_is_graceful_and_clean(backend) {
        let app = TestApp::spawn(backend).await;
        assert_eq!(app.get("/healthz", None).await.status(), 200);
        app.stop().await.expect("weft::run returns Ok after a graceful shutdown");
    }
}
