//! Webhook deliveries in the store across a crash: a delivery claimed but never recorded is
//! claimed again once its lease ends (at-least-once), and a recorded one is never sent again.
#![allow(clippy::disallowed_methods)]

use weft_store::{AttemptRecord, NewWebhookEndpoint, Origin, now_ms};
use weft_testkit::{TestDb, backend_test};

use crate::runs_store::tenant;

backend_test! {
    async fn an_unrecorded_delivery_is_claimed_again_after_its_lease_and_a_recorded_one_never(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let new = NewWebhookEndpoint { url: "https://example.com/hook", description: "", event_types: &[], rate_limit: None };
        let (endpoint, _) = store.create_webhook_endpoint(&ada.scope, &Origin::default(), new).await.unwrap();
        store.send_test_event(&ada.scope, &endpoint.id).await.unwrap();
        let now = now_ms();

        // A dispatcher claims it and dies before recording anything.
        let claimed = store.claim_deliveries(now, 10, 1_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(store.claim_deliveries(now + 500, 10, 1_000).await.unwrap().is_empty(), "held by its lease");

        // Another process (a restart) takes it after the lease.
        let again = store.claim_deliveries(now + 1_001, 10, 1_000).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].event, claimed[0].event);
        // The dead claim can no longer record; the live one can.
        let sent = AttemptRecord {
            succeeded: true, status_code: Some(200), latency_ms: 3, response: Some("ok"), error: None, retry_at: None,
        };
        assert!(store.record_attempt(&claimed[0], sent, now + 1_002).await.is_err());
        let sent = AttemptRecord {
            succeeded: true, status_code: Some(200), latency_ms: 3, response: Some("ok"), error: None, retry_at: None,
        };
        store.record_attempt(&again[0], sent, now + 1_002).await.unwrap();
        assert!(store.claim_deliveries(now + 60_000, 10, 1_000).await.unwrap().is_empty(), "delivered once");
    }
}
