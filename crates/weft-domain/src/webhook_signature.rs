//! Webhook signatures: Standard Webhooks v1 (SPECS §1), which Weft uses to sign the events it
//! sends and can check on the webhooks it receives, and the generic `sha256=<hex>` HMAC header
//! over the raw body that many providers send (GitHub's `X-Hub-Signature-256` among them).
//!
//! A Standard Webhooks signature is `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`,
//! keyed with the bytes a `whsec_…` secret encodes. A header may carry several, space-separated,
//! so a secret can be rotated without downtime: a message is genuine if any of them matches.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a `webhook-timestamp` may be from now, either way: the reference libraries' 5 minutes.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

const SECRET_PREFIX: &str = "whsec_";
const SIGNATURE_VERSION: &str = "v1";

/// A Standard Webhooks signing secret: 24 to 64 random bytes, written `whsec_<base64>`. Its
/// `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a signing secret starts with `whsec_`")]
    MissingPrefix,
    #[error("a signing secret is `whsec_` followed by base64")]
    NotBase64,
    #[error("a signing secret holds 24 to 64 bytes, this one {0}")]
    BadLength(usize),
}

impl SigningSecret {
    /// 32 bytes from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretError::BadLength(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The `whsec_…` form, to show once and to store.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 MAC>` of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("{SIGNATURE_VERSION},{}", STANDARD.encode(mac))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac
    }

    /// Whether `candidate` (one `v1,…` entry) is this secret's signature of the message, compared
    /// in constant time.
    fn signed(&self, id: &str, timestamp: i64, body: &[u8], candidate: &str) -> bool {
        let Some((SIGNATURE_VERSION, encoded)) = candidate.split_once(',') else { return false };
        let Ok(presented) = STANDARD.decode(encoded) else { return false };
        self.mac(id, timestamp, body).verify_slice(&presented).is_ok()
    }
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&SigningSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| secret.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the webhook-timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error("the webhook-timestamp is more than 5 minutes from now")]
    StaleTimestamp,
    #[error("no signature matches")]
    NoMatch,
}

/// Checks a Standard Webhooks message: the timestamp is within the tolerance of `now_secs`, and
/// some `v1` signature in `signature_header` is `secret`'s. Other versions are ignored.
pub fn verify(
    secret: &SigningSecret,
    id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp_header.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    if (now_secs - timestamp).abs() > TIMESTAMP_TOLERANCE_SECS {
        return Err(VerifyError::StaleTimestamp);
    }
    let matched = signature_header.split(' ').any(|candidate| secret.signed(id, timestamp, body, candidate));
    if matched { Ok(()) } else { Err(VerifyError::NoMatch) }
}

/// Checks a `sha256=<hex HMAC-SHA256 of the body>` header keyed with `key`'s bytes, in constant
/// time. Hex may be upper or lower case.
pub fn verify_sha256_header(key: &[u8], header: &str, body: &[u8]) -> bool {
    let Some(hex_mac) = header.trim().strip_prefix("sha256=") else { return false };
    let Ok(presented) = hex::decode(hex_mac) else { return false };
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&presented).is_ok()
}

/// Whether a presented secret (a header value, Basic credentials) equals the expected one,
/// compared through their digests so the time taken does not tell how much of it matched.
pub fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::Digest;
    Sha256::digest(presented) == Sha256::digest(expected)
}

/// The `sha256=<hex>` header a sender computes; for tests and for documentation examples.
pub fn sha256_header(key: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPECS §1, vector A: the reference Rust library's `test_sign`.
    #[test]
    fn signs_the_reference_rust_vector() {
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = secret.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body);
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    /// SPECS §1, vector B: the reference Python library's `test_sign_function`.
    #[test]
    fn signs_the_reference_python_vector() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verify_accepts_any_matching_signature_and_rejects_tampering() {
        let (old, new) = (SigningSecret::generate(), SigningSecret::generate());
        let header = signature_header(&[&new, &old], "msg_1", 1_000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert_eq!(verify(&old, "msg_1", "1000", &header, b"{}", 1_000), Ok(()));
        assert_eq!(verify(&new, "msg_1", "1000", &header, b"{}", 1_299), Ok(()));
        assert_eq!(verify(&new, "msg_1", "1000", &header, b"{ }", 1_000), Err(VerifyError::NoMatch));
        assert_eq!(verify(&new, "msg_2", "1000", &header, b"{}", 1_000), Err(VerifyError::NoMatch));
        assert_eq!(verify(&new, "msg_1", "1000", &header, b"{}", 1_301), Err(VerifyError::StaleTimestamp));
        assert_eq!(verify(&new, "msg_1", "1000", &header, b"{}", 699), Err(VerifyError::StaleTimestamp));
        assert_eq!(verify(&new, "msg_1", "soon", &header, b"{}", 1_000), Err(VerifyError::BadTimestamp));
        let other_version = header.replace("v1,", "v2,");
        assert_eq!(verify(&new, "msg_1", "1000", &other_version, b"{}", 1_000), Err(VerifyError::NoMatch));
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_named() {
        let secret = SigningSecret::generate();
        assert_eq!(SigningSecret::parse(&secret.expose()), Ok(secret.clone()));
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..]));
        assert_eq!(SigningSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), Err(SecretError::MissingPrefix));
        assert_eq!(SigningSecret::parse("whsec_%%%"), Err(SecretError::NotBase64));
        assert_eq!(SigningSecret::parse("whsec_c2hvcnQ="), Err(SecretError::BadLength(5)));
    }

    #[test]
    fn same_secret_compares_whole_values() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }

    #[test]
    fn sha256_headers_verify_in_either_case() {
        let header = sha256_header(b"key", b"body");
        assert!(verify_sha256_header(b"key", &header, b"body"));
        assert!(verify_sha256_header(b"key", &header.to_uppercase().replace("SHA256=", "sha256="), b"body"));
        assert!(!verify_sha256_header(b"key", &header, b"bodY"));
        assert!(!verify_sha256_header(b"other", &header, b"body"));
        assert!(!verify_sha256_header(b"key", "sha256=zz", b"body"));
        assert!(!verify_sha256_header(b"key", &header[7..], b"body"));
    }
}
