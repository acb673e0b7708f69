//! API key secrets: `weft_` + 32 base62 random characters (190 bits) + a 6-character base62
//! CRC32 of the random part. The prefix lets secret scanners recognise a leaked key; the checksum
//! lets Weft (and scanners) reject a mistyped or made-up key without a database lookup.

use rand::Rng;
use rand::rngs::OsRng;

use crate::token::hash_presented;

pub const KEY_PREFIX: &str = "weft_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// How much of the random part is kept in clear to tell keys apart in lists.
const DISPLAY_LEN: usize = 8;
pub const KEY_LEN: usize = KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyFormatError {
    #[error("an API key starts with `weft_`")]
    Prefix,
    #[error("an API key is {KEY_LEN} characters of `weft_` and base62")]
    Shape,
    #[error("the API key's checksum does not match; it was mistyped or truncated")]
    Checksum,
}

/// A newly made key. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl ApiKeySecret {
    pub fn generate() -> Self {
        let random: String = (0..RANDOM_LEN).map(|_| char::from(BASE62[OsRng.gen_range(0..BASE62.len())])).collect();
        let checksum = checksum(&random);
        ApiKeySecret(format!("{KEY_PREFIX}{random}{checksum}"))
    }

    /// The value to show the creator, once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps.
    pub fn hash(&self) -> String {
        hash_presented(&self.0)
    }

    /// The non-secret part shown in key lists, e.g. `weft_Ab3dE9xZ`.
    pub fn display_prefix(&self) -> &str {
        &self.0[..KEY_PREFIX.len() + DISPLAY_LEN]
    }
}

/// Checks a presented key's shape and checksum; on success its hash is what to look up.
pub fn check_presented(presented: &str) -> Result<String, ApiKeyFormatError> {
    let body = presented.strip_prefix(KEY_PREFIX).ok_or(ApiKeyFormatError::Prefix)?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiKeyFormatError::Shape);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum(random) != sum {
        return Err(ApiKeyFormatError::Checksum);
    }
    Ok(hash_presented(presented))
}

/// CRC32 of the random part in base62, left-padded with `0` to six characters.
fn checksum(random: &str) -> String {
    let mut value = crc32fast::hash(random.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_pass_their_own_check() {
        let key = ApiKeySecret::generate();
        assert_eq!(key.expose().len(), KEY_LEN);
        assert!(key.expose().starts_with("weft_"));
        assert_eq!(check_presented(key.expose()), Ok(key.hash()));
        assert_eq!(key.display_prefix().len(), 13);
        assert!(!format!("{key:?}").contains(key.expose()));
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let key = ApiKeySecret::generate();
        let mut typo = key.expose().as_bytes().to_vec();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(check_presented(&typo), Err(ApiKeyFormatError::Checksum));
    }

    #[test]
    fn wrong_prefix_length_or_alphabet_is_rejected() {
        let key = ApiKeySecret::generate();
        assert_eq!(check_presented(&key.expose().replace("weft_", "wft_")), Err(ApiKeyFormatError::Prefix));
        assert_eq!(check_presented(&key.expose()[..KEY_LEN - 1]), Err(ApiKeyFormatError::Shape));
        assert_eq!(check_presented(&format!("weft_{}", "-".repeat(38))), Err(ApiKeyFormatError::Shape));
    }

    #[test]
    fn checksum_is_six_base62_digits_with_leading_zeros() {
        // crc32("") is 0, so its checksum is all padding.
        assert_eq!(checksum(""), "000000");
        assert_eq!(checksum("abc").len(), 6);
        assert_ne!(checksum("abc"), checksum("abd"));
    }
}
