//! The API contract: the served OpenAPI document, its completeness, and the documentation page.

use serde_json::Value;
use weft_testkit::{TestApp, TestBackend, expect_status};

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    all
}

#[tokio::test]
async fn spec_is_openapi_3_1_with_schemes_schemas_and_problem_responses() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let spec: Value = expect_status(app.get("/api/v1/openapi.json", None).await, 200).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "{}", spec["openapi"]);
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["user"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["bearerFormat"], "weft_…");
    assert!(spec["components"]["schemas"]["Problem"].is_object());

    let all = operations(&spec);
    assert!(all.len() >= 34, "only {} operations documented", all.len());
    for (method, path, operation) in &all {
        let responses = operation["responses"].as_object().unwrap();
        for status in ["429", "500"] {
            let problem = &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} lacks its {status} problem");
        }
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} documents no success");
        let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
        assert!(!secured || responses.contains_key("401"), "{method} {path} needs a credential but lacks 401");
        if path.starts_with("/api/v1/workspaces/{ws}") {
            assert!(responses.contains_key("403") && responses.contains_key("404"), "{method} {path}");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
        }
    }
}

/// The other direction — every route is documented — is enforced at build time: clippy.toml
/// forbids registering a route other than through `routes!`, which documents it.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let spec: Value = expect_status(app.get("/api/v1/openapi.json", None).await, 200).await;
    for (method, path, _) in operations(&spec) {
        let concrete = path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/");
        let response = app.request(method.parse().unwrap(), &concrete, None).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path} is documented but its method is not served");
        assert!(!body.contains("no such endpoint"), "{method} {path} is documented but not routed: {body}");
    }
}

#[tokio::test]
async fn documentation_page_and_its_assets_come_from_the_binary() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let page = app.get("/api/docs/", None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let external: Vec<&str> =
        html.split(['"', '\'']).filter(|s| s.starts_with("http://") || s.starts_with("https://")).collect();
    assert!(external.is_empty(), "the docs page loads {external:?} from elsewhere");
    let initializer = app.get("/api/docs/swagger-initializer.js", None).await;
    assert_eq!(initializer.status(), 200);
    assert!(initializer.text().await.unwrap().contains("/api/v1/openapi.json"));
    let bundle = app.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000, "the Swagger UI bundle is embedded");
}
