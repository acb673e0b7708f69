//! What every handler can reach.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::task::TaskTracker;
use weft_domain::{LoginThrottle, Quota, throttle};
use weft_store::Store;
use weft_worker::outbound::OutboundPolicy;
use weft_worker::{Email, Mailer};

use crate::hooks::HookTriggers;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::tokens::TokenKeys;

/// HTTP settings taken from the configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Base of links in mail, e.g. `https://weft.example.com` (no trailing slash).
    pub public_url: String,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub cors_origins: Vec<String>,
    /// Believe `X-Forwarded-For` / `X-Forwarded-Proto` from the peer.
    pub trust_proxy: bool,
    pub quotas: Quotas,
    /// How long a deleted workspace can be restored before it is purged.
    pub workspace_purge_grace: Duration,
    /// How long a webhook request waits for its run's answer before it gets 202 and the run id.
    pub webhook_wait: Duration,
}

/// Request budgets per caller.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub api_key: Quota,
    pub user: Quota,
    /// Per client address, on the routes that need no credential.
    pub ip: Quota,
}

/// Failed-login bookkeeping, by account and by client address.
#[derive(Debug)]
pub struct LoginThrottles {
    pub accounts: LoginThrottle,
    pub ips: LoginThrottle,
}

impl Default for LoginThrottles {
    fn default() -> Self {
        LoginThrottles {
            accounts: LoginThrottle::new(throttle::ACCOUNT_FREE_FAILURES),
            ips: LoginThrottle::new(throttle::IP_FREE_FAILURES),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub mailer: Arc<Mailer>,
    pub tokens: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<HttpSettings>,
    pub throttles: Arc<Mutex<LoginThrottles>>,
    pub limiter: RateLimiter,
    /// Work that outlives its request (mail); shutdown waits for it.
    pub background: TaskTracker,
    pub hook_triggers: Arc<HookTriggers>,
    /// What URLs saved for Weft to call later (webhook endpoints) may point at.
    pub outbound_policy: Arc<OutboundPolicy>,
}

impl AppState {
    pub fn new(store: Store, mailer: Mailer, tokens: TokenKeys, limiter: RateLimiter, settings: HttpSettings) -> Self {
        AppState {
            store,
            mailer: Arc::new(mailer),
            tokens: Arc::new(tokens),
            metrics: Arc::new(Metrics::default()),
            settings: Arc::new(settings),
            throttles: Arc::default(),
            limiter,
            background: TaskTracker::new(),
            hook_triggers: Arc::default(),
            outbound_policy: Arc::default(),
        }
    }

    /// The operator's allow-list for URLs saved to be called later; none by default.
    pub fn with_outbound_policy(mut self, policy: OutboundPolicy) -> Self {
        self.outbound_policy = Arc::new(policy);
        self
    }

    pub fn throttles(&self) -> std::sync::MutexGuard<'_, LoginThrottles> {
        // The bookkeeping stays consistent even if a holder panicked; keep using it.
        self.throttles.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends mail without holding up the response; a failure is logged, never shown to the
    /// client (it must not reveal whether an address has an account).
    pub fn send_mail_later(&self, email: Email) {
        let mailer = Arc::clone(&self.mailer);
        self.background.spawn(async move {
            let (to, subject) = (email.to.clone(), email.subject.clone());
            if let Err(error) = mailer.send(email).await {
                tracing::error!(%to, %subject, error = %error, "mail could not be sent");
            }
        });
    }
}
