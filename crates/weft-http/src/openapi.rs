//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the error responses
//! every operation shares, added here in one place so no operation documents them differently.
//!
//! Each operation's `security` names the permission it needs as the requirement's scope:
//! `user` (an access token; the caller's role must hold it) and, where a key may hold it,
//! `api_key` (the key's scopes must include it). The role and scope matrix tests read it back.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use crate::error::{FieldError, PROBLEM_JSON, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Weft API",
        description = "Workflow automation for teams. Errors are RFC 9457 problem+json; lists take `limit` and \
                       `cursor` and answer `{items, next_cursor}`; every response carries `x-request-id`.",
        license(name = "AGPL-3.0-only")
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Accounts: register, sign in, tokens, email verification, password reset"),
        (name = "account", description = "The signed-in user's profile and sessions"),
        (name = "workspaces", description = "Workspaces (the tenants)"),
        (name = "members", description = "Members, roles and invitations"),
        (name = "api-keys", description = "API keys, bound to one workspace"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "workflows", description = "Workflows and their versions"),
        (name = "runs", description = "Runs of workflows and their steps"),
        (name = "webhooks", description = "Webhook endpoints, the workspace's events, deliveries and replay"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "user",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /api/v1/auth/login or /auth/refresh."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("weft_…")
                    .description(Some("A workspace API key; it acts only in its own workspace, within its scopes."))
                    .build(),
            ),
        );
    }
}

/// The base document: info, shared schemas and the security schemes.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// Adds the shared problem responses to every operation, by what the operation can meet.
pub fn finish(mut openapi: OpenApi) -> OpenApi {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            add_problems(operation, has_path_params);
        }
    }
    openapi
}

fn add_problems(operation: &mut Operation, has_path_params: bool) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let gated = operation.security.as_ref().is_some_and(|requirements| {
        serde_json::to_value(requirements).ok().is_some_and(|value| value.to_string().contains(':'))
    });
    let has_body = operation.request_body.is_some();
    let mut problems: Vec<(&str, &str)> = Vec::new();
    if has_body {
        problems.push(("400", "The body is not valid JSON"));
        problems.push(("413", "The body is larger than the limit"));
        problems.push(("415", "The body is not `application/json`"));
    }
    if secured {
        problems.push(("401", "Missing, invalid, expired or revoked credential"));
    }
    if gated {
        problems.push(("403", "The caller's role or the key's scopes lack the permission"));
    }
    if has_path_params || gated {
        problems.push(("404", "No such resource, or it belongs to a workspace the caller cannot see"));
    }
    if has_body || !operation.parameters.as_ref().is_none_or(Vec::is_empty) {
        problems.push(("422", "Invalid fields or parameters, each located by a JSON pointer (or `?name`)"));
    }
    problems.push(("429", "Over the request quota (`RateLimit` headers say when to retry)"));
    problems.push(("500", "Internal error (opaque; the request id locates it in the logs)"));
    problems.push(("503", "The request timed out, or a dependency is unavailable"));
    for (status, description) in problems {
        if operation.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build();
        operation.responses.responses.insert(status.to_owned(), response.into());
    }
}
