//! The outbox transport: each message becomes one `.eml` file in a folder,
//! so development and self-hosted installs without SMTP still see every mail.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::MailError;

/// Writes `formatted` (a complete RFC 5322 message) to `<dir>/<timestamp>-<ulid>.eml`
/// and returns the path. The timestamp is Unix milliseconds, zero-padded so that
/// file names sort in sending order.
pub(super) async fn write(dir: &Path, formatted: &[u8]) -> Result<PathBuf, MailError> {
    // Created on every send rather than once, so a folder removed while running comes back.
    tokio::fs::create_dir_all(dir).await.map_err(MailError::Io)?;

    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis()).unwrap_or_default();
    let name = format!("{millis:013}-{}.eml", ulid::Ulid::new());
    let path = dir.join(&name);

    // Write under a temporary name, then rename: whoever watches the folder
    // never picks up a half-written message.
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, formatted).await.map_err(MailError::Io)?;
    if let Err(err) = tokio::fs::rename(&partial, &path).await {
        // Best effort: the rename error is the one worth reporting.
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(MailError::Io(err));
    }
    Ok(path)
}
