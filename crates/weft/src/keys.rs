//! The instance's two keys: the token-signing key and the master encryption key. Taken from the
//! configuration when given; otherwise generated once into the data dir (mode 0600) and reused.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use rand::rngs::OsRng;

use crate::config::Secret;

pub const SECRET_KEY_FILE: &str = "secret.key";
pub const MASTER_KEY_FILE: &str = "master.key";

/// The signing key's bytes: at least 32 of them.
pub fn signing_key(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let key = match configured {
        Some(key) => key.clone(),
        None => load_or_generate(&data_dir.join(SECRET_KEY_FILE))?,
    };
    if key.expose().len() < 32 {
        bail!("key `secret_key`: must be at least 32 characters");
    }
    Ok(key.expose().as_bytes().to_vec())
}

/// The master key: base64 (standard or URL-safe) of exactly 32 bytes, for AES-256.
pub fn master_key(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let key = match configured {
        Some(key) => key.clone(),
        None => load_or_generate(&data_dir.join(MASTER_KEY_FILE))?,
    };
    let text = key.expose().trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    bytes.context("key `master_key`: must be base64 of exactly 32 bytes (generate one with `openssl rand -base64 32`)")
}

/// Reads a key file, or creates it with 32 fresh random bytes, readable by the owner only.
fn load_or_generate(path: &Path) -> anyhow::Result<Secret> {
    if path.exists() {
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "key file is readable by others; chmod 600 it");
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Secret::new(text.trim()));
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let key = URL_SAFE_NO_PAD.encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_generated_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let first = signing_key(None, dir.path()).unwrap();
        let second = signing_key(None, dir.path()).unwrap();
        assert_eq!(first, second, "the second start reuses the key");
        let mode = std::fs::metadata(dir.path().join(SECRET_KEY_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let master = master_key(None, dir.path()).unwrap();
        assert_eq!(master, master_key(None, dir.path()).unwrap());
        assert_ne!(&master[..], &first[..32]);
    }

    #[test]
    fn configured_keys_win_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let configured = Secret::new("x".repeat(40));
        assert_eq!(signing_key(Some(&configured), dir.path()).unwrap(), "x".repeat(40).into_bytes());
        assert!(!dir.path().join(SECRET_KEY_FILE).exists(), "nothing generated when configured");
        assert!(signing_key(Some(&Secret::new("short")), dir.path()).is_err());

        let master = Secret::new(STANDARD.encode([7u8; 32]));
        assert_eq!(master_key(Some(&master), dir.path()).unwrap(), [7u8; 32]);
        let error = master_key(Some(&Secret::new(STANDARD.encode([7u8; 16]))), dir.path()).unwrap_err();
        assert!(error.to_string().contains("master_key"));
    }
}
