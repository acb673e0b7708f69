//! The `send_email` node run by the worker inside `weft serve`, against the test app's real SMTP
//! listener: what arrives, what a bad address does, and that a retried run sends nothing twice.

use serde_json::{Value, json};
use weft_http::api::runs::RunStartedOut;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

use crate::runs::{finished, published, start};

/// A published workflow: a manual trigger, a `send_email` node with `mail`, then `after`.
async fn mailing(app: &TestApp, ws: &TestWorkspace, mail: Value, after: Option<Value>) -> String {
    let mut nodes = vec![
        json!({"name": "Start", "type": "manual_trigger"}),
        json!({"name": "Mail", "type": "send_email", "params": mail}),
    ];
    let mut connections = vec![json!({"from": "Start", "to": "Mail"})];
    if let Some(after) = after {
        connections.push(json!({"from": "Mail", "to": after["name"]}));
        nodes.push(after);
    }
    published(app, ws, json!(nodes), json!(connections)).await
}

fn marker() -> Value {
    json!({"to": "marker@example.com", "subject": "marker", "text": "-"})
}

backend_test! {
    async fn a_send_email_node_delivers_each_message_from_the_instance_address(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let mail = json!({
            "to": "{{ $json.name }} <{{ $json.email }}>", "cc": "cc@example.com", "bcc": "audit@example.com",
            "reply_to": "sales@example.com", "from_name": "Sales team",
            "subject": "Hello {{ $json.name }}", "text": "Hi {{ $json.name }}", "html": "<p>Hi {{ $json.name }}</p>"
        });
        let workflow = mailing(&app, &ws, mail, None).await;
        let run = start(&app, &ws, &workflow, json!({"name": "Bob", "email": "bob@example.com"})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");

        let received = app.smtp.next_message().await;
        let mut recipients = received.to.clone();
        recipients.sort();
        assert_eq!(recipients, ["audit@example.com", "bob@example.com", "cc@example.com"]);
        assert_eq!(received.subject(), "Hello Bob");
        assert_eq!(received.text_body().trim(), "Hi Bob");
        assert_eq!(received.html_body().trim(), "<p>Hi Bob</p>");
        assert!(received.raw.contains("Reply-To: sales@example.com"), "{}", received.raw);
        assert!(received.raw.contains("From: \"Sales team\" <") || received.raw.contains("From: Sales team <"), "{}", received.raw);
        assert!(!received.raw.contains("audit@example.com\r\nSubject") && !received.raw.contains("Bcc:"), "bcc stays out of the headers");

        let item = &out.output.expect("the run's output")["Mail"][0];
        assert_eq!(item["accepted"].as_array().map(Vec::len), Some(3), "{item}");
        assert_eq!(item["envelope"]["from"], json!(received.from));
        assert!(item["messageId"].as_str().is_some_and(|id| id.starts_with('<') && id.ends_with("@weft>")), "{item}");
    }
}

backend_test! {
    async fn an_invalid_address_fails_the_step_clearly_and_sends_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let bad = mailing(&app, &ws, json!({"to": "ok@example.com, not-an-address", "subject": "never", "text": "-"}), None).await;
        let run = start(&app, &ws, &bad, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "failed");
        let error = out.error.expect("the run's error");
        assert_eq!(error["node"], "Mail");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("`to` holds `not-an-address`, which is not an email address"), "{message}");

        // Nothing went out for the valid address either: the next message is the marker.
        let marker_flow = mailing(&app, &ws, marker(), None).await;
        let marker_run = start(&app, &ws, &marker_flow, json!({})).await;
        assert_eq!(finished(&app, &ws, &marker_run).await.status, "succeeded");
        assert_eq!(app.smtp.next_message().await.subject(), "marker");
    }
}

backend_test! {
    async fn a_retried_run_does_not_send_its_email_again(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let stop = json!({"name": "Stop", "type": "stop_and_error", "params": {"message": "not yet"}});
        let workflow = mailing(&app, &ws, json!({"to": "bob@example.com", "subject": "once", "text": "-"}), Some(stop)).await;
        let failed = start(&app, &ws, &workflow, json!({})).await;
        assert_eq!(finished(&app, &ws, &failed).await.status, "failed");
        assert_eq!(app.smtp.next_message().await.subject(), "once");

        let retry = ws.path(&format!("/runs/{failed}/retry"));
        let retried: RunStartedOut = expect_status(app.post(&retry, token, &json!({"from": "failed_step"})).await, 202).await;
        assert_eq!(finished(&app, &ws, &retried.run_id).await.status, "failed");

        let marker_flow = mailing(&app, &ws, marker(), None).await;
        let marker_run = start(&app, &ws, &marker_flow, json!({})).await;
        assert_eq!(finished(&app, &ws, &marker_run).await.status, "succeeded");
        assert_eq!(app.smtp.next_message().await.subject(), "marker", "the retried run sent its email again");
    }
}
