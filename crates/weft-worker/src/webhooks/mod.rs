//! The outbound-webhook dispatcher. It claims due deliveries from the outbox under a lease,
//! sends each through the SSRF-guarded [`OutboundClient`] with the Standard Webhooks headers
//! (SPECS §1), and records every attempt with the delivery's next state. A delivery whose outcome
//! was never recorded (the process died mid-send) is sent again after its lease: at least once,
//! deduplicable by `webhook-id`.

mod retry;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use weft_domain::webhook_signature::signature_header;
use weft_store::{AttemptRecord, DueDelivery, Store, StoreError, now_ms};

pub use retry::{DEFAULT_SCHEDULE_SECS, EndpointPacer, RetrySchedule, parse_retry_after};

use crate::outbound::{OutboundClient, OutboundRequest};
use crate::{Email, Mailer};

/// Standard Webhooks asks for 15–30 s; Svix's hosted service uses 15.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// Stored of each response body.
pub const RESPONSE_KEPT_BYTES: usize = 4096;
/// An endpoint whose deliveries have all failed this long is disabled (Svix's 5 days).
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    pub schedule: RetrySchedule,
    /// How often due deliveries are looked for.
    pub poll: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a claimed delivery is held; longer than [`DELIVERY_TIMEOUT`].
    pub lease: Duration,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        DispatcherSettings {
            schedule: RetrySchedule::default(),
            poll: Duration::from_millis(500),
            concurrency: 16,
            lease: Duration::from_secs(60),
        }
    }
}

/// What became of one delivery's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Succeeded,
    /// Failed; tried again later or given up, as the schedule says.
    Failed,
    /// Failed, and the endpoint was disabled for it.
    Disabled,
    /// Put back untried: the endpoint's rate limit.
    Deferred,
}

pub struct Dispatcher {
    store: Store,
    client: OutboundClient,
    mailer: Arc<Mailer>,
    settings: DispatcherSettings,
    pacer: Mutex<EndpointPacer>,
}

impl Dispatcher {
    pub fn new(store: Store, client: OutboundClient, mailer: Arc<Mailer>, settings: DispatcherSettings) -> Self {
        Dispatcher { store, client, mailer, settings, pacer: Mutex::default() }
    }

    /// Delivers until `shutdown`, at most `concurrency` at once, looking for due deliveries
    /// every `poll`. Deliveries in flight at shutdown finish (within their timeout).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let free = permits.available_permits();
            if free > 0 {
                match self.store.claim_deliveries(now_ms(), free as u32, self.lease_ms()).await {
                    Ok(claimed) => {
                        for delivery in claimed {
                            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                            let dispatcher = Arc::clone(&self);
                            in_flight.spawn(async move {
                                dispatcher.deliver(delivery, now_ms()).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(error) => tracing::error!(error = %error, "claiming webhook deliveries failed"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Claims the deliveries due at `now` (up to `concurrency`), sends them all as of `now`, and
    /// returns what became of each: for tests, which drive time themselves.
    pub async fn run_once(&self, now: i64) -> Result<Vec<Delivered>, StoreError> {
        let claimed = self.store.claim_deliveries(now, self.settings.concurrency as u32, self.lease_ms()).await?;
        Ok(futures_util::future::join_all(claimed.into_iter().map(|delivery| self.deliver(delivery, now))).await)
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Sends one claimed delivery and records the outcome; a store failure is logged, and the
    /// delivery goes out again after its lease.
    async fn deliver(&self, delivery: DueDelivery, now: i64) -> Delivered {
        match self.try_deliver(&delivery, now).await {
            Ok(delivered) => delivered,
            Err(error) => {
                tracing::error!(event = %delivery.event, endpoint = %delivery.endpoint, error = %error,
                    "recording a webhook delivery failed; it is sent again after its lease");
                Delivered::Failed
            }
        }
    }

    async fn try_deliver(&self, delivery: &DueDelivery, now: i64) -> Result<Delivered, StoreError> {
        if let Some(limit) = delivery.rate_limit {
            let slot = self.pacer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).admit(
                &delivery.endpoint,
                limit,
                now,
            );
            if let Some(at) = slot {
                self.store.defer_delivery(delivery, at).await?;
                return Ok(Delivered::Deferred);
            }
        }
        let started = Instant::now();
        let sent = self.client.send(signed_request(delivery, now)).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let outcome = Outcome::of(sent, now);
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        let retry_at = match outcome.gone || outcome.succeeded {
            true => None,
            false => self.settings.schedule.next_attempt_at(delivery.attempts + 1, now, jitter, outcome.retry_after),
        };
        let record = AttemptRecord {
            succeeded: outcome.succeeded,
            status_code: outcome.status,
            latency_ms,
            response: outcome.response.as_deref(),
            error: outcome.error.as_deref(),
            retry_at,
        };
        let failing_since = self.store.record_attempt(delivery, record, now).await?;
        if outcome.succeeded {
            return Ok(Delivered::Succeeded);
        }
        let disable_after = i64::try_from(DISABLE_AFTER.as_millis()).unwrap_or(i64::MAX);
        let reason = if outcome.gone {
            Some("the endpoint answered 410 Gone")
        } else if failing_since.is_some_and(|since| now - since >= disable_after) {
            Some("every delivery to the endpoint failed for 5 days")
        } else {
            None
        };
        let Some(reason) = reason else { return Ok(Delivered::Failed) };
        if let Some(url) =
            self.store.disable_webhook_endpoint(&delivery.workspace, &delivery.endpoint, reason, now).await?
        {
            self.tell_admins(delivery, &url, reason).await;
        }
        Ok(Delivered::Disabled)
    }

    /// Mails the workspace's owners and admins that an endpoint was disabled; failures are
    /// logged, the endpoint stays disabled either way.
    async fn tell_admins(&self, delivery: &DueDelivery, url: &str, reason: &str) {
        let recipients = match self.store.workspace_admin_emails(&delivery.workspace).await {
            Ok(recipients) => recipients,
            Err(error) => {
                tracing::error!(endpoint = %delivery.endpoint, error = %error, "finding whom to tell of a disabled endpoint failed");
                return;
            }
        };
        for to in recipients {
            let email = disabled_email(to, &delivery.endpoint.to_string(), url, reason);
            if let Err(error) = self.mailer.send(email).await {
                tracing::error!(endpoint = %delivery.endpoint, error = %error, "mail about a disabled endpoint failed");
            }
        }
    }
}

/// The delivery as an HTTP request: the stored body byte for byte, signed with every secret that
/// signs now, redirects not followed.
fn signed_request(delivery: &DueDelivery, now: i64) -> OutboundRequest {
    let timestamp = now.div_euclid(1000);
    let id = delivery.event.as_str();
    let secrets = delivery.secrets.iter().collect::<Vec<_>>();
    let signature = signature_header(&secrets, id, timestamp, delivery.payload.as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    };
    set("webhook-id", id.to_owned());
    set("webhook-timestamp", timestamp.to_string());
    set("webhook-signature", signature);
    let mut request = OutboundRequest::new(Method::POST, delivery.url.clone());
    request.headers = headers;
    request.body = Some(Bytes::from(delivery.payload.clone()));
    request.timeout = Some(DELIVERY_TIMEOUT);
    request.follow_redirects = false;
    request
}

/// An attempt's result as recorded.
#[derive(Debug, Default)]
struct Outcome {
    succeeded: bool,
    /// 410: the receiver wants no more.
    gone: bool,
    status: Option<u16>,
    response: Option<String>,
    error: Option<String>,
    retry_after: Option<i64>,
}

impl Outcome {
    fn of(sent: Result<crate::outbound::OutboundResponse, crate::outbound::OutboundError>, now: i64) -> Outcome {
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Outcome { error: Some(error.to_string()), ..Outcome::default() },
        };
        let status = response.status;
        let kept = &response.body[..response.body.len().min(RESPONSE_KEPT_BYTES)];
        let error = if status.is_success() {
            None
        } else if status.is_redirection() {
            Some(format!("the endpoint answered {status}; redirects are not followed"))
        } else {
            Some(format!("the endpoint answered {status}"))
        };
        Outcome {
            succeeded: status.is_success(),
            gone: status == StatusCode::GONE,
            status: Some(status.as_u16()),
            response: Some(String::from_utf8_lossy(kept).into_owned()),
            error,
            retry_after: response
                .headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, now)),
        }
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn disabled_email(to: String, endpoint: &str, url: &str, reason: &str) -> Email {
    let text = format!(
        "Weft disabled the webhook endpoint {endpoint} ({url}): {reason}.\n\n\
         Its events are no longer sent. Fix the receiver, then enable the endpoint again \
         (PATCH its `enabled` to true) and replay the events it missed."
    );
    let html = format!(
        "<p>Weft disabled the webhook endpoint <code>{}</code> (<code>{}</code>): {}.</p>\
         <p>Its events are no longer sent. Fix the receiver, then enable the endpoint again and replay the \
         events it missed.</p>",
        escape_html(endpoint),
        escape_html(url),
        escape_html(reason)
    );
    Email { to, subject: "A webhook endpoint was disabled".to_owned(), text, html }
}
