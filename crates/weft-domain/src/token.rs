//! Opaque bearer secrets (refresh tokens, email links): 256 random bits from the OS CSPRNG,
//! shown once and stored only as their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// A freshly generated secret. Its `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken(String);

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(..)")
    }
}

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value to hand to the client, once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps.
    pub fn hash(&self) -> String {
        hash_presented(&self.0)
    }
}

/// Hashes a token presented by a client, for lookup.
pub fn hash_presented(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43, "256 bits in unpadded base64url");
        assert_eq!(a.hash(), hash_presented(a.expose()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
