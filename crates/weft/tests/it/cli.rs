//! The `weft` binary itself: zero-configuration start, key reuse, configuration errors, the
//! admin command, migrations on PostgreSQL, and graceful shutdown on SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use weft_testkit::{TestBackend, TestDb};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// `weft` with a clean environment, run in `dir`.
pub(crate) fn weft(dir: &Path) -> Command {
    let mut command = Command::new(WEFT);
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.kill_on_drop(true);
    command
}

/// Starts `weft serve` and waits for the log line with the URL to open.
pub(crate) async fn serve(command: Command) -> (Child, String) {
    let (child, ready) = started(command).await;
    let rest = ready.split("Weft is ready: open ").nth(1).unwrap_or_else(|| panic!("no URL to open in `{ready}`"));
    (child, rest.split_whitespace().next().unwrap().to_owned())
}

/// Starts `weft` and waits for its log line saying it is ready, which it returns.
pub(crate) async fn started(mut command: Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn weft");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("Weft is ready") {
                return line;
            }
        }
        panic!("weft exited before it was ready");
    })
    .await
    .expect("weft became ready within 30 s");
    // Keep draining stdout so logging never blocks the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, ready)
}

async fn terminate(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "SIGTERM leads to a clean exit, got {status}");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn version_prints_the_package_version() {
    let output = weft(Path::new(".")).arg("version").output().await.unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), format!("weft {}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn zero_configuration_start_creates_everything_and_a_second_start_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut admin = weft(dir.path())
        .args(["admin", "create-user", "--email", "Root@Example.com", "--operator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    admin.stdin.take().unwrap().write_all(b"an operator passphrase\n").await.unwrap();
    let output = admin.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created operator root <root@example.com>"));

    let (child, url) = serve({
        let mut c = weft(dir.path());
        c.args(["serve", "--bind", "127.0.0.1:0"]);
        c
    })
    .await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let data = dir.path().join("weft-data");
    for file in ["weft.db", "secret.key", "master.key"] {
        assert!(data.join(file).is_file(), "{file} created");
    }
    assert_eq!(mode(&data.join("secret.key")), 0o600);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();

    let client = client();
    assert_eq!(client.get(format!("{url}/readyz")).send().await.unwrap().status(), 200);
    let login = json!({"email": "root@example.com", "password": "an operator passphrase"});
    let response = client.post(format!("{url}/api/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), 200, "the admin-created account can log in");
    let forgot = client.post(format!("{url}/api/v1/auth/forgot-password")).json(&json!({"email": "root@example.com"}));
    assert_eq!(forgot.send().await.unwrap().status(), 202);
    terminate(child).await;

    let outbox: Vec<_> = std::fs::read_dir(data.join("outbox")).expect("outbox folder").collect();
    assert_eq!(outbox.len(), 1, "without SMTP, mail lands in the outbox");

    let (child, url) = serve({
        let mut c = weft(dir.path());
        c.args(["serve", "--bind", "127.0.0.1:0"]);
        c
    })
    .await;
    assert_eq!(std::fs::read_to_string(data.join("secret.key")).unwrap(), key, "the key is reused");
    let response = client.post(format!("{url}/api/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), 200, "the database is reused");
    terminate(child).await;
}

#[tokio::test]
async fn configuration_errors_stop_startup_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("weft-data")).unwrap();
    std::fs::write(dir.path().join("weft-data/weft.toml"), "bind = \"127.0.0.1:0\"\nmail_form = \"x@y.z\"\n").unwrap();
    let output = weft(dir.path()).arg("serve").output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mail_form"), "{stderr}");

    std::fs::write(dir.path().join("weft-data/weft.toml"), "").unwrap();
    let output = weft(dir.path()).arg("serve").env("WEFT_REQUEST_TIMEOUT_SECS", "soon").output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.to_lowercase().contains("request_timeout_secs"), "{stderr}");

    let output = weft(dir.path()).args(["serve", "--config", "missing.toml"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.toml"));
}

#[tokio::test]
async fn admin_create_user_refuses_weak_passwords_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let create = |password: &'static [u8]| {
        let mut child = weft(dir.path())
            .args(["admin", "create-user", "--email", "ada@example.com", "--name", "Ada"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        async move {
            stdin.write_all(password).await.unwrap();
            drop(stdin);
            child.wait_with_output().await.unwrap()
        }
    };
    let weak = create(b"password123\n").await;
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("common"));
    assert!(create(b"a fine long passphrase\n").await.status.success());
    let duplicate = create(b"a fine long passphrase\n").await;
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
}

#[tokio::test]
async fn postgres_is_migrated_only_when_asked() {
    if TestBackend::postgres_admin_url().is_none() {
        eprintln!("skipped: set WEFT_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    }
    let db = TestDb::new(TestBackend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let refused = weft(dir.path()).args(["serve", "--bind", "127.0.0.1:0", "--database-url", &db.url]).output().await;
    let refused = refused.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("weft migrate"));

    let migrated = weft(dir.path()).args(["migrate", "--database-url", &db.url]).output().await.unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let (child, url) = serve({
        let mut c = weft(dir.path());
        c.args(["serve", "--bind", "127.0.0.1:0"]).env("WEFT_DATABASE_URL", &db.url);
        c
    })
    .await;
    let ready: serde_json::Value = client().get(format!("{url}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["database"], "postgres");
    terminate(child).await;
}
