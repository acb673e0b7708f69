//! Access tokens: HS256 JWTs signed with the instance's secret key, 15 minutes long. Each names
//! its session (`sid`), which is checked on every request so logout takes effect at once.

use std::time::Duration;

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
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 0;
        TokenKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
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
}
