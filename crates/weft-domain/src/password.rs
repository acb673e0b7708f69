//! Password policy and hashing: Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//! Hashing is CPU-bound for ~20 ms on purpose; callers run it off their async threads.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("is one of the most common passwords; choose another")]
    TooCommon,
}

/// The 10,000 most common passwords (zxcvbn's frequency list, MIT licence: see common_passwords.NOTICE).
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

/// Checks a new password against the policy. Length counts characters, not bytes.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    if COMMON.contains(password.to_lowercase().as_str()) {
        return Err(PasswordError::TooCommon);
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC-format Argon2id hash (`$argon2id$v=19$m=19456,t=2,p=1$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes with a fresh random salt. Slow by design.
    pub fn new(password: &str) -> Self {
        let salt = SaltString::generate(&mut OsRng);
        let hash = argon2().hash_password(password.as_bytes(), &salt).expect("argon2 accepts any password up to 4 GiB");
        Self(hash.to_string())
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time verification. A malformed stored hash never matches.
    pub fn verify(&self, password: &str) -> bool {
        Phc::new(&self.0).is_ok_and(|phc| argon2().verify_password(password.as_bytes(), &phc).is_ok())
    }

    /// Verifies against a fixed hash so that an unknown account costs the same time as a wrong
    /// password, and login responses do not reveal which emails exist.
    pub fn verify_against_nobody(password: &str) {
        static NOBODY: LazyLock<PasswordHash> = LazyLock::new(|| PasswordHash::new("no account has this password"));
        let _ = NOBODY.verify(password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_enforces_length_in_characters() {
        assert_eq!(check_policy("short"), Err(PasswordError::TooShort));
        assert_eq!(check_policy(&"x".repeat(129)), Err(PasswordError::TooLong));
        assert_eq!(check_policy("üüüüüüüüüü"), Ok(()), "ten characters, twenty bytes");
        assert_eq!(check_policy(&"x".repeat(128).replace('x', "k9")[..128]), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(COMMON.len(), 10_000);
        assert_eq!(check_policy("1234567890"), Err(PasswordError::TooCommon));
        assert_eq!(check_policy("Qwertyuiop"), Err(PasswordError::TooCommon));
        assert_eq!(check_policy("correct horse battery staple"), Ok(()));
    }

    #[test]
    fn hashes_use_argon2id_with_owasp_parameters_and_verify() {
        let hash = PasswordHash::new("correct horse battery staple");
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(hash.verify("correct horse battery staple"));
        assert!(!hash.verify("correct horse battery stable"));
        assert_ne!(hash, PasswordHash::new("correct horse battery staple"), "salts differ");
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!PasswordHash::from_stored("not a hash".into()).verify("anything at all"));
    }
}
