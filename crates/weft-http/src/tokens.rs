//! Access tokens: HS256 JWTs signed with the instance's secret key, 15 minutes long. Each names
//! its session (`sid`), which is checked on every request so logout takes effect at once.
//! The same key also signs the web UI's cookies and CSRF tokens ([`TokenKeys::mac`]).

use std::time::Duration;

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use weft_domain::{SessionId, UserId};

pub const AUDIENCE: &str = "weft";
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Absolute lifetime of a login session and its refresh tokens.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub sid: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub aud: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    mac_key: Hmac<sha2::Sha256>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            mac_key: Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"),
        }
    }

    /// A signed access token for the session, valid for [`ACCESS_TOKEN_TTL`] from `now_secs`.
    pub fn issue(&self, user: &UserId, session: &SessionId, now_secs: i64) -> String {
        let ttl = i64::try_from(ACCESS_TOKEN_TTL.as_secs()).unwrap_or(i64::MAX);
        let claims = AccessClaims {
            sub: user.clone(),
            sid: session.clone(),
            iat: now_secs,
            exp: now_secs + ttl,
            jti: ulid::Ulid::new().to_string().to_ascii_lowercase(),
            aud: AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, audience and expiry.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims)
    }
}

impl TokenKeys {
    fn mac_of(&self, purpose: &str, value: &str) -> Hmac<sha2::Sha256> {
        let mut mac = self.mac_key.clone();
        // The purpose is length-prefixed, so no (purpose, value) pair can pass for another.
        mac.update(&(purpose.len() as u64).to_be_bytes());
        mac.update(purpose.as_bytes());
        mac.update(value.as_bytes());
        mac
    }

    /// HMAC-SHA256 of `value` for one `purpose`, hex-encoded.
    pub fn mac(&self, purpose: &str, value: &str) -> String {
        hex::encode(self.mac_of(purpose, value).finalize().into_bytes())
    }

    /// Whether `presented` is [`TokenKeys::mac`] of `value` for `purpose`, compared in constant time.
    pub fn mac_matches(&self, purpose: &str, value: &str, presented: &str) -> bool {
        hex::decode(presented).is_ok_and(|bytes| self.mac_of(purpose, value).verify_slice(&bytes).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_session() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let (user, session) = (UserId::generate(), SessionId::generate());
        let claims = keys.verify(&keys.issue(&user, &session, now())).expect("valid token");
        assert_eq!((claims.sub, claims.sid, claims.aud.as_str()), (user, session, AUDIENCE));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another key entirely, 32 bytes!!");
        let (user, session) = (UserId::generate(), SessionId::generate());
        assert!(keys.verify(&keys.issue(&user, &session, now() - 901)).is_none(), "expired");
        assert!(keys.verify(&other.issue(&user, &session, now())).is_none(), "signed by another key");
        let mut token = keys.issue(&user, &session, now());
        token.push('x');
        assert!(keys.verify(&token).is_none(), "tampered");
        assert!(keys.verify("not.a.jwt").is_none());
    }

    #[test]
    fn macs_bind_purpose_value_and_key() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another key entirely, 32 bytes!!");
        let mac = keys.mac("session", "abc");
        assert!(keys.mac_matches("session", "abc", &mac));
        assert!(!keys.mac_matches("csrf", "abc", &mac), "another purpose");
        assert!(!keys.mac_matches("session", "abd", &mac), "another value");
        assert!(!other.mac_matches("session", "abc", &mac), "another key");
        assert!(!keys.mac_matches("session", "abc", "not hex"));
        assert_ne!(keys.mac("a", "bc"), keys.mac("ab", "c"));
    }
}
