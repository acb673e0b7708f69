//! Webhook endpoint pages: create with inline errors and the secret shown once, test, replay,
//! disable, rotate and delete; workspace isolation and escaping.

use std::time::{Duration, Instant};

use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, TestBackend, UiSession, backend_test};

/// Deliveries may go to this machine: the endpoints point back at the app itself, which
/// answers their POSTs with 404.
async fn spawn_allowing_loopback(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".to_owned()]).await
}

/// The signing secret on a page, if it shows one.
fn secret_of(body: &str) -> Option<&str> {
    let at = body.find("whsec_")?;
    body[at..].split('<').next()
}

/// The id of the endpoint a page is about (`ep_…`).
fn endpoint_id_of(body: &str) -> String {
    let at = body.find("/webhooks/ep_").expect("a link to an endpoint") + "/webhooks/".len();
    body[at..].split(['/', '"']).next().expect("endpoint id").to_owned()
}

/// Reloads `path` until it shows `needle` `times` times.
async fn wait_for_page(ui: &mut UiSession<'_>, path: &str, needle: &str, times: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = ui.get(path).await;
        if page.body.matches(needle).count() >= times {
            return page.body;
        }
        assert!(Instant::now() < deadline, "{path} never showed {needle:?} {times} times: {}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

backend_test!(
    async fn an_endpoint_is_created_tested_replayed_disabled_rotated_and_deleted(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let list = format!("/w/{}/webhooks", ws.slug);
        let empty = ui.get(&list).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("No endpoints yet"), "{}", empty.body);

        let new = format!("{list}/new");
        let malformed = ui.submit(&new, &new, &[("url", "ftp://example.com/x"), ("description", "Ops"),
            ("event_types", "run.failed")]).await;
        assert_eq!(malformed.status, 422, "{}", malformed.body);
        assert!(malformed.body.contains("class=\"field-error\" id=\"url-error\""), "{}", malformed.body);
        assert!(malformed.body.contains("value=\"ftp://example.com/x\"") && malformed.body.contains("value=\"Ops\""));
        assert!(malformed.body.contains("value=\"run.failed\" checked"), "ticked boxes stay ticked");
        let private = ui.submit(&new, &new, &[("url", "http://10.1.2.3/hook")]).await;
        assert_eq!(private.status, 400, "{}", private.body);
        assert!(private.body.contains("flash-error"), "the SSRF guard's reason: {}", private.body);

        let target = app.url("/nowhere");
        let created = ui.submit(&new, &new, &[("url", &target), ("description", "Ops"),
            ("event_types", "run.failed"), ("event_types", "workflow.created")]).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let secret = secret_of(&created.body).expect("the secret is shown once").to_owned();
        assert!(created.body.contains("data-copy-target=\"webhook-secret\""), "with a copy button");
        let id = endpoint_id_of(&created.body);
        let detail = format!("{list}/{id}");
        let reloaded = ui.get(&detail).await;
        assert_eq!(reloaded.status, 200);
        assert!(secret_of(&reloaded.body).is_none(), "a reload does not show the secret: {}", reloaded.body);
        assert!(reloaded.body.contains("run.failed") && reloaded.body.contains("workflow.created"));
        assert!(ui.get(&list).await.body.contains(&target), "listed");

        let csrf = csrf_of(&reloaded.body).expect("token");
        let tested = ui.post_form(&format!("{detail}/test"), &csrf, &[]).await;
        assert_eq!((tested.status, tested.location.as_deref()), (303, Some(detail.as_str())));
        let body = wait_for_page(&mut ui, &detail, "HTTP 404", 1).await;
        let event = body.split("name=\"event\" value=\"").nth(1).and_then(|rest| rest.split('"').next())
            .expect("a replay button").to_owned();
        let replayed = ui.post_form(&format!("{detail}/replay"), &csrf, &[("event", &event)]).await;
        assert_eq!(replayed.status, 303, "{}", replayed.body);
        wait_for_page(&mut ui, &detail, "HTTP 404", 2).await;

        let disabled = ui.post_form(&format!("{detail}/enabled"), &csrf, &[("enabled", "false")]).await;
        assert_eq!(disabled.status, 303);
        let page = ui.get(&detail).await;
        assert!(page.body.contains("badge-disabled") && page.body.contains("The endpoint is disabled"), "{}", page.body);
        ui.post_form(&format!("{detail}/enabled"), &csrf, &[("enabled", "true")]).await;
        assert!(ui.get(&detail).await.body.contains("badge-active"));

        let rotated = ui.post_form(&format!("{detail}/rotate"), &csrf, &[]).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let new_secret = secret_of(&rotated.body).expect("the new secret is shown once");
        assert_ne!(new_secret, secret);
        assert!(secret_of(&ui.get(&detail).await.body).is_none());

        let deleted = ui.post_form(&format!("{detail}/delete"), &csrf, &[]).await;
        assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some(list.as_str())));
        let after = ui.get(&list).await;
        assert!(after.body.contains("No endpoints yet") && after.body.contains("is deleted"), "{}", after.body);
        assert_eq!(ui.get(&detail).await.status, 404);
    }
);

backend_test!(
    async fn another_workspace_endpoints_are_not_found_and_descriptions_render_inert(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        app.new_workspace("theirs@example.com").await;
        let mut owner = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let new = format!("/w/{}/webhooks/new", ours.slug);
        let hostile = "<script>alert(1)</script>";
        let target = app.url("/nowhere");
        let created = owner.submit(&new, &new, &[("url", &target), ("description", hostile)]).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let detail = format!("/w/{}/webhooks/{}", ours.slug, endpoint_id_of(&created.body));
        for path in [detail.clone(), format!("/w/{}/webhooks", ours.slug)] {
            let page = owner.get(&path).await;
            assert!(!page.body.contains(hostile), "{path}: {}", page.body);
            assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path}: {}", page.body);
        }

        let mut stranger = UiSession::sign_in(&app, "theirs@example.com", TEST_PASSWORD).await;
        for path in [format!("/w/{}/webhooks", ours.slug), new.clone(), detail.clone()] {
            let page = stranger.get(&path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.body.contains("Nothing here"), "{path}: {}", page.body);
        }
        let csrf = csrf_of(&stranger.get("/workspaces/new").await.body).expect("token");
        let refused = stranger.post_form(&format!("{detail}/delete"), &csrf, &[]).await;
        assert_eq!(refused.status, 404);
        assert_eq!(owner.get(&detail).await.status, 200, "still there");
    }
);
