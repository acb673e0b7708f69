//! Isolation and access, tested over every workspace-scoped operation in the served OpenAPI
//! document: a route added later is covered without touching this file. Each operation's
//! `security` names its permission (see weft_http::openapi); the expectations come from the
//! permission matrix in weft-domain, and the outcomes from the running app.

use reqwest::Method;
use serde_json::{Value, json};
use weft_domain::{Permission, Role};
use weft_testkit::{TestApp, TestBackend, TestWorkspace, backend_test, expect_status};

use crate::runs::finished;

const WORKSPACE_PREFIX: &str = "/api/v1/workspaces/{ws}";

/// One documented operation under `/workspaces/{ws}`.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    template: String,
    permission: Permission,
    /// Whether an API key may hold the permission (the spec offers the `api_key` scheme).
    key_allowed: bool,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

fn requirement_scopes(security: &Value, scheme: &str) -> Option<Vec<String>> {
    security.as_array()?.iter().find_map(|requirement| {
        let scopes = requirement.get(scheme)?.as_array()?;
        Some(scopes.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
    })
}

async fn workspace_operations(app: &TestApp) -> Vec<Operation> {
    let spec: Value = expect_status(app.get("/api/v1/openapi.json", None).await, 200).await;
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let template = path.clone();
        if !template.starts_with(WORKSPACE_PREFIX) {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("HTTP method");
            let security = &operation["security"];
            let user = requirement_scopes(security, "user")
                .unwrap_or_else(|| panic!("{method} {template} documents no `user` security requirement"));
            let [permission] = user.as_slice() else {
                panic!("{method} {template} must name exactly one permission, not {user:?}");
            };
            let permission: Permission = permission.parse().unwrap_or_else(|e| panic!("{method} {template}: {e}"));
            let key = requirement_scopes(security, "api_key");
            assert_eq!(
                key.is_some(),
                permission.is_key_scope(),
                "{method} {template}: the api_key scheme must be offered exactly when `{permission}` is a key scope"
            );
            if let Some(key) = &key {
                assert_eq!(key, &user, "{method} {template}: both schemes need the same permission");
            }
            operations.push(Operation { method, template: template.clone(), permission, key_allowed: key.is_some() });
        }
    }
    assert!(operations.len() >= 16, "expected the tenancy routes in the spec, found {}", operations.len());
    operations
}

/// The app, allowed to call itself: the fixture run saves a file it fetches from the app.
async fn spawn(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await
}

/// Ids of resources inside one workspace, to fill path templates with.
struct Resources {
    workspace: String,
    member: String,
    invitation: String,
    key: String,
    workflow: String,
    /// A finished run with one attachment.
    run: String,
    attachment: String,
    endpoint: String,
    event: String,
}

impl Resources {
    async fn create(app: &TestApp, ws: &TestWorkspace, tag: &str) -> Resources {
        let member = app.add_member(ws, &format!("target-{tag}@example.com"), "viewer").await;
        let owner = Some(ws.owner.access_token.as_str());
        let invite = json!({ "email": format!("pending-{tag}@example.com"), "role": "member" });
        let invitation: Value = expect_status(app.post(&ws.path("/invitations"), owner, &invite).await, 201).await;
        app.smtp.next_message().await;
        let (_, key) = app.new_api_key(ws, &["runs:read"]).await;
        let workflow = app.new_workflow(ws, &format!("flow {tag}")).await;
        let (run, attachment) = run_with_attachment(app, ws, tag).await;
        let hook = json!({ "url": format!("https://hooks.example.com/{tag}") });
        let endpoint: Value = expect_status(app.post(&ws.path("/webhook-endpoints"), owner, &hook).await, 201).await;
        let events: Value = expect_status(app.get(&ws.path("/events"), owner).await, 200).await;
        Resources {
            workspace: ws.id.clone(),
            member: member.id,
            invitation: invitation["id"].as_str().expect("invitation id").to_owned(),
            key,
            workflow,
            run,
            attachment,
            endpoint: endpoint["id"].as_str().expect("endpoint id").to_owned(),
            event: events["items"][0]["id"].as_str().expect("an event").to_owned(),
        }
    }

    /// The template with every parameter filled; an unknown parameter fails loudly so a new
    /// route's resource gets a fixture here.
    fn fill(&self, template: &str, workspace: &str) -> String {
        let mut path = template.replace("{ws}", workspace);
        let version = "1".to_owned();
        let fixtures = [
            ("{user}", &self.member),
            ("{invitation}", &self.invitation),
            ("{key}", &self.key),
            ("{wf}", &self.workflow),
            ("{run}", &self.run),
            ("{ep}", &self.endpoint),
            ("{evt}", &self.event),
            ("{n}", &version),
            ("{name}", &self.attachment),
        ];
        for (name, value) in fixtures {
            path = path.replace(name, value);
        }
        assert!(!path.contains('{'), "no fixture for a path parameter in {template}; add one to Resources");
        path
    }
}

/// A finished run that saved the app's `/healthz` as a file; its id and the attachment's name.
async fn run_with_attachment(app: &TestApp, ws: &TestWorkspace, tag: &str) -> (String, String) {
    let owner = Some(ws.owner.access_token.as_str());
    let body = json!({
        "name": format!("files {tag}"),
        "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Fetch", "type": "http_request", "params": {"url": app.url("/healthz"), "response": "file"}},
        ],
        "connections": [{"from": "Start", "to": "Fetch"}],
    });
    let workflow: Value = expect_status(app.post(&ws.path("/workflows"), owner, &body).await, 201).await;
    let runs = ws.path(&format!("/workflows/{}/runs", workflow["id"].as_str().expect("workflow id")));
    let run: Value = expect_status(app.post(&runs, owner, &json!({ "version": 1 })).await, 202).await;
    let run = run["run_id"].as_str().expect("run id").to_owned();
    assert_eq!(finished(app, ws, &run).await.status, "succeeded");
    let attachments: Value =
        expect_status(app.get(&ws.path(&format!("/runs/{run}/attachments")), owner).await, 200).await;
    let name = attachments["items"][0]["name"].as_str().expect("an attachment").to_owned();
    (run, name)
}

async fn send(app: &TestApp, operation: &Operation, path: &str, token: &str) -> (u16, String) {
    let mut request = app.request(operation.method.clone(), path, Some(token));
    if matches!(operation.method, Method::POST | Method::PATCH | Method::PUT) {
        request = request.json(&json!({}));
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

fn every_key_scope() -> Vec<&'static str> {
    Permission::key_scopes().map(Permission::as_str).collect()
}

backend_test! {
    async fn other_workspaces_members_and_keys_get_404_on_every_workspace_route(backend) {
        let app = spawn(backend).await;
        let a = app.new_workspace("owner-a@example.com").await;
        let b = app.new_workspace("owner-b@example.com").await;
        let a_resources = Resources::create(&app, &a, "a").await;
        let (b_key, _) = app.new_api_key(&b, &every_key_scope()).await;
        let operations = workspace_operations(&app).await;

        for operation in &operations {
            // A's workspace, by id and by slug, with B's credentials.
            for workspace in [&a.id, &a.slug] {
                let path = a_resources.fill(&operation.template, workspace);
                for (who, token) in [("B's owner", b.owner.access_token.as_str()), ("B's key", b_key.as_str())] {
                    let (status, body) = send(&app, operation, &path, token).await;
                    assert_eq!(status, 404, "{who} on {operation} ({path}): {body}");
                }
            }
            // B's own workspace, naming A's resources.
            if operation.template.matches('{').count() > 1 {
                let path = a_resources.fill(&operation.template, &b.id);
                let (status, body) = send(&app, operation, &path, &b.owner.access_token).await;
                assert_eq!(status, 404, "B's owner on {operation} with A's resource ({path}): {body}");
                if operation.key_allowed {
                    let (status, body) = send(&app, operation, &path, &b_key).await;
                    assert_eq!(status, 404, "B's key on {operation} with A's resource ({path}): {body}");
                }
            }
        }

        // Nothing of A's was touched.
        let owner = Some(a.owner.access_token.as_str());
        let members: Value = expect_status(app.get(&a.path("/members"), owner).await, 200).await;
        assert!(members["items"].as_array().unwrap().iter().any(|m| m["user_id"] == a_resources.member.as_str()));
        let invitations: Value = expect_status(app.get(&a.path("/invitations"), owner).await, 200).await;
        assert_eq!(invitations["items"][0]["id"], a_resources.invitation.as_str());
        let keys: Value = expect_status(app.get(&a.path("/api-keys"), owner).await, 200).await;
        assert_eq!(keys["items"][0]["id"], a_resources.key.as_str());
        let workspace: Value = expect_status(app.get(&a.path(""), owner).await, 200).await;
        assert_eq!(workspace["name"], "Workspace of owner-a@example.com");
        assert_eq!(a_resources.workspace, a.id);
    }
}

backend_test! {
    async fn every_role_is_allowed_or_refused_exactly_as_the_permission_matrix_says(backend) {
        let app = spawn(backend).await;
        let operations = workspace_operations(&app).await;
        for (index, operation) in operations.iter().enumerate() {
            // A fresh workspace per operation: an allowed call may delete what the next one needs.
            let ws = app.new_workspace(&format!("owner-{index}@example.com")).await;
            let resources = Resources::create(&app, &ws, &index.to_string()).await;
            let mut callers = Vec::new();
            for role in [Role::Viewer, Role::Member, Role::Admin] {
                let email = format!("{}-{index}@example.com", role.as_str());
                callers.push((role, app.add_member(&ws, &email, role.as_str()).await.access_token));
            }
            callers.push((Role::Owner, ws.owner.access_token.clone()));
            // Least privileged first, so every refusal is seen before any allowed call changes things.
            for (role, token) in callers {
                let path = resources.fill(&operation.template, &ws.id);
                let (status, body) = send(&app, operation, &path, &token).await;
                if role.allows(operation.permission) {
                    assert!(
                        ![401, 403].contains(&status),
                        "{role} should pass the `{}` gate of {operation}: {status} {body}",
                        operation.permission
                    );
                } else {
                    assert_eq!(status, 403, "{role} must be refused {operation} (`{}`): {body}", operation.permission);
                    let problem: weft_http::Problem = serde_json::from_str(&body).expect("problem");
                    assert!(problem.detail.contains(operation.permission.as_str()), "{}", problem.detail);
                }
            }
        }
    }
}

backend_test! {
    async fn api_keys_reach_exactly_the_routes_their_scopes_grant(backend) {
        let app = spawn(backend).await;
        let operations = workspace_operations(&app).await;
        for (index, operation) in operations.iter().enumerate() {
            let ws = app.new_workspace(&format!("owner-{index}@example.com")).await;
            let resources = Resources::create(&app, &ws, &index.to_string()).await;
            let path = resources.fill(&operation.template, &ws.id);
            let required = operation.permission.as_str();

            let all_but: Vec<&str> = every_key_scope().into_iter().filter(|s| *s != required).collect();
            let (lacking, _) = app.new_api_key(&ws, &all_but).await;
            let (status, body) = send(&app, operation, &path, &lacking).await;
            assert_eq!(status, 403, "a key without `{required}` must be refused {operation}: {body}");

            if operation.key_allowed {
                let (exact, _) = app.new_api_key(&ws, &[required]).await;
                let (status, body) = send(&app, operation, &path, &exact).await;
                assert!(![401, 403, 404].contains(&status), "a `{required}` key should reach {operation}: {status} {body}");
            }
        }
    }
}

backend_test! {
    async fn permissions_doc_lists_every_workspace_route_with_its_permission(backend) {
        let app = spawn(backend).await;
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md"))
            .expect("docs/permissions.md");
        let mut documented: Vec<String> = doc
            .lines()
            .filter(|line| line.starts_with("| `") && line.contains(" /api/v1/workspaces/{ws}"))
            .map(|line| line.replace('`', "").split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" "))
            .collect();
        let mut served: Vec<String> = workspace_operations(&app)
            .await
            .iter()
            .map(|op| format!("{op} {} {}", op.permission, if op.key_allowed { "✓" } else { "–" }))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served, "the route table in docs/permissions.md differs from the API");
    }
}

#[test]
fn permissions_doc_shows_the_matrix_the_code_enforces() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md"))
        .expect("docs/permissions.md");
    let table = Permission::markdown_table();
    assert!(doc.contains(&table), "docs/permissions.md is out of date; paste this table into it:\n\n{table}");
}
