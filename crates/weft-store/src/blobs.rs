//! Blobs: payloads too large to keep in a row (see [`crate::store_payload`]), stored under keys
//! `<workspace>/<run>/<name>` so that a run's blobs, or a whole workspace's, go with one
//! [`BlobStore::delete_prefix`]. [`FsBlobStore`] keeps them under `<data_dir>/blobs/`; an S3
//! implementation of the same trait will follow for deployments with more than one machine.

use std::fmt;
use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use weft_domain::{RunId, WorkspaceId};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Not a key this module makes: wrong shape, a foreign workspace, or characters that could
    /// leave the blob root (`..`, `/`, `\`, …).
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("blob not found")]
    NotFound,
    /// A stored reference or blob that does not decode, or whose length is not the recorded one.
    #[error("corrupt payload: {0}")]
    Corrupt(&'static str),
    #[error("blob storage I/O failed")]
    Io(#[from] std::io::Error),
}

/// Longest name of a blob within its run.
const MAX_NAME_LEN: usize = 128;

/// A blob's name within its run: ASCII letters, digits, `_`, `-` and `.`, not starting with a
/// dot (so never `.` or `..`, and never one of the store's temporary files).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// An id segment must be the canonical form of its id, so a key has exactly one spelling.
fn canonical<T: std::str::FromStr + fmt::Display>(segment: &str) -> bool {
    segment.parse::<T>().is_ok_and(|id| id.to_string() == segment)
}

/// A validated key `<workspace id>/<run id>/<name>`. Only valid keys can exist, so no
/// implementation has to guard against path traversal itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn new(workspace: &WorkspaceId, run: &RunId, name: &str) -> Result<BlobKey, BlobError> {
        BlobKey::parse(&format!("{workspace}/{run}/{name}"))
    }

    /// A key read back from storage, e.g. from a payload reference.
    pub fn parse(key: &str) -> Result<BlobKey, BlobError> {
        let invalid = || BlobError::InvalidKey(key.chars().take(200).collect());
        let mut segments = key.split('/');
        let (Some(workspace), Some(run), Some(name), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(invalid());
        };
        if canonical::<WorkspaceId>(workspace) && canonical::<RunId>(run) && valid_name(name) {
            Ok(BlobKey(key.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The workspace segment (always a valid workspace id).
    pub fn workspace(&self) -> &str {
        self.segments().0
    }

    /// The run segment (always a valid run id).
    pub fn run(&self) -> &str {
        self.segments().1
    }

    /// The blob's name within its run.
    pub fn name(&self) -> &str {
        self.segments().2
    }

    fn segments(&self) -> (&str, &str, &str) {
        let mut parts = self.0.splitn(3, '/');
        // `parse` admitted only keys of exactly three segments.
        let mut next = || parts.next().unwrap_or_default();
        (next(), next(), next())
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every blob of a workspace, or of one of its runs: `<workspace>/` or `<workspace>/<run>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPrefix(String);

impl BlobPrefix {
    pub fn workspace(workspace: &WorkspaceId) -> BlobPrefix {
        BlobPrefix(format!("{workspace}/"))
    }

    pub fn run(workspace: &WorkspaceId, run: &RunId) -> BlobPrefix {
        BlobPrefix(format!("{workspace}/{run}/"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where blobs live. Object-safe (the methods return boxed futures), so the binary can choose
/// an implementation at start and hand out `Arc<dyn BlobStore>`.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores `bytes` under `key`, replacing any blob there. A reader sees the old blob or the
    /// new one, never part of one.
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), BlobError>>;

    /// The blob under `key`; `NotFound` if there is none.
    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Vec<u8>, BlobError>>;

    /// Deletes every blob under `prefix`; nothing there is not an error.
    fn delete_prefix<'a>(&'a self, prefix: &'a BlobPrefix) -> BoxFuture<'a, Result<(), BlobError>>;
}

/// Blobs as files: key `ws/run/name` is the file `<root>/ws/run/name`.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Blobs under `root` (normally `<data_dir>/blobs`), created when the first blob is stored.
    pub fn new(root: impl Into<PathBuf>) -> FsBlobStore {
        FsBlobStore { root: root.into() }
    }

    fn path_of(&self, key: &BlobKey) -> PathBuf {
        let (workspace, run, name) = key.segments();
        self.root.join(workspace).join(run).join(name)
    }

    async fn write(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path_of(key);
        let dir = path.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir).await?;
        // A name `valid_name` never admits, in the same directory, so the rename is atomic and a
        // crash leaves at most a stray temporary file that the run's deletion removes.
        let temp = dir.join(format!(".{}.{}.tmp", key.segments().2, ulid::Ulid::new()));
        let written = write_synced(&temp, bytes).await;
        let renamed = match written {
            Ok(()) => tokio::fs::rename(&temp, &path).await,
            Err(error) => Err(error),
        };
        if renamed.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        Ok(renamed?)
    }
}

/// Writes a new file and flushes it to disk before it is renamed into place.
async fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

impl BlobStore for FsBlobStore {
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move { self.write(key, &bytes).await })
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Vec<u8>, BlobError>> {
        Box::pin(async move {
            match tokio::fs::read(self.path_of(key)).await {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
                read => Ok(read?),
            }
        })
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a BlobPrefix) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            // The prefix is made of typed ids only: `ws_…/` or `ws_…/run_…/`.
            let dir = prefix.as_str().split('/').filter(|s| !s.is_empty()).fold(self.root.clone(), |p, s| p.join(s));
            match tokio::fs::remove_dir_all(dir).await {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                removed => Ok(removed?),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (WorkspaceId, RunId) {
        (WorkspaceId::generate(), RunId::generate())
    }

    #[test]
    fn keys_are_workspace_run_and_name() {
        let (ws, run) = ids();
        let key = BlobKey::new(&ws, &run, "stp_1.output").unwrap();
        assert_eq!(key.as_str(), format!("{ws}/{run}/stp_1.output"));
        assert_eq!(key.workspace(), ws.as_str());
        assert_eq!(key.run(), run.as_str());
        assert_eq!(key.name(), "stp_1.output");
        assert_eq!(BlobKey::parse(key.as_str()).unwrap(), key);
        assert!(key.as_str().starts_with(BlobPrefix::run(&ws, &run).as_str()));
        assert!(key.as_str().starts_with(BlobPrefix::workspace(&ws).as_str()));
    }

    #[test]
    fn names_that_could_leave_the_run_are_refused() {
        let (ws, run) = ids();
        for name in [
            "",
            ".",
            "..",
            "../x",
            "../../etc/passwd",
            "a/b",
            "a\\b",
            "..\\..\\x",
            "/etc/passwd",
            ".hidden",
            "a\0b",
            "a b",
            "naïve",
            "%2e%2e",
            &"x".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(matches!(BlobKey::new(&ws, &run, name), Err(BlobError::InvalidKey(_))), "{name:?}");
        }
        assert!(BlobKey::new(&ws, &run, &"x".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn parsed_keys_must_be_canonical_ids_and_three_segments() {
        let (ws, run) = ids();
        let upper_run = format!("run_{}", run.as_str()["run_".len()..].to_ascii_uppercase());
        for key in [
            format!("{ws}/{run}"),
            format!("{ws}/{run}/a/b"),
            format!("{ws}/{run}/../a"),
            format!("../{run}/a"),
            format!("{ws}/../a"),
            format!("/{ws}/{run}/a"),
            format!("{ws}//{run}/a"),
            format!("{ws}/{upper_run}/a"),
            format!("{run}/{ws}/a"),
            format!("{ws}/{run}/"),
            "ws_x/run_y/a".to_owned(),
        ] {
            assert!(matches!(BlobKey::parse(&key), Err(BlobError::InvalidKey(_))), "{key}");
        }
    }

    #[tokio::test]
    async fn files_round_trip_and_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::new(dir.path().join("blobs"));
        let (ws, run) = ids();
        let key = BlobKey::new(&ws, &run, "out").unwrap();
        assert!(matches!(blobs.get(&key).await, Err(BlobError::NotFound)));
        blobs.put(&key, b"first".to_vec()).await.unwrap();
        blobs.put(&key, b"second".to_vec()).await.unwrap();
        assert_eq!(blobs.get(&key).await.unwrap(), b"second");
        assert!(dir.path().join("blobs").join(ws.as_str()).join(run.as_str()).join("out").is_file());
        let entries = std::fs::read_dir(dir.path().join("blobs").join(ws.as_str()).join(run.as_str())).unwrap();
        assert_eq!(entries.count(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn deleting_a_run_prefix_spares_other_runs_and_workspaces() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::new(dir.path());
        let (ws, run) = ids();
        let (other_ws, other_run) = ids();
        let sibling = RunId::generate();
        let keys = [
            BlobKey::new(&ws, &run, "a").unwrap(),
            BlobKey::new(&ws, &run, "b").unwrap(),
            BlobKey::new(&ws, &sibling, "a").unwrap(),
            BlobKey::new(&other_ws, &other_run, "a").unwrap(),
        ];
        for key in &keys {
            blobs.put(key, key.as_str().as_bytes().to_vec()).await.unwrap();
        }
        blobs.delete_prefix(&BlobPrefix::run(&ws, &run)).await.unwrap();
        blobs.delete_prefix(&BlobPrefix::run(&ws, &run)).await.unwrap();
        assert!(matches!(blobs.get(&keys[0]).await, Err(BlobError::NotFound)));
        assert!(matches!(blobs.get(&keys[1]).await, Err(BlobError::NotFound)));
        assert_eq!(blobs.get(&keys[2]).await.unwrap(), keys[2].as_str().as_bytes());

        blobs.delete_prefix(&BlobPrefix::workspace(&ws)).await.unwrap();
        assert!(matches!(blobs.get(&keys[2]).await, Err(BlobError::NotFound)));
        assert_eq!(blobs.get(&keys[3]).await.unwrap(), keys[3].as_str().as_bytes(), "another workspace's");
        assert!(!dir.path().join(ws.as_str()).exists());
    }
}
