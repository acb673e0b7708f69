//! One typed configuration: defaults → `weft.toml` → `WEFT_*` environment → command-line flags.
//! Unknown keys and invalid values stop startup with a message that names the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// What a process does. `weft serve` runs both by default; with PostgreSQL, processes can split
/// them (`weft serve --roles api` and `weft worker` processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The HTTP API (with health, readiness and metrics) and the purge of deleted workspaces.
    Api,
    /// Executes runs.
    Worker,
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "api" => Ok(Role::Api),
            "worker" => Ok(Role::Worker),
            other => Err(format!("unknown role `{other}` (expected `api` or `worker`)")),
        }
    }
}

/// A value that must never reach a log line or a debug print.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Every setting, with its default. The README's configuration table lists the same keys;
/// each is `WEFT_<KEY>` in the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// `sqlite://…` or `postgres://…`; unset means `sqlite://<data_dir>/weft.db`.
    pub database_url: Option<Secret>,
    /// Apply migrations on start; unset means yes for SQLite and no for PostgreSQL.
    pub migrate_on_start: Option<bool>,
    pub db_max_connections: u32,
    pub db_min_connections: u32,
    pub db_acquire_timeout_secs: u64,
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `weft_http=debug,info`.
    pub log_level: String,
    /// The address people use to reach Weft, for links in mail; unset means `http://<bind>`.
    pub public_url: Option<String>,
    /// `smtp://host:port`, `smtps://user:pass@host`, …; unset writes mail to `<data_dir>/outbox`.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// Token-signing key (≥ 32 characters); unset means generated into `<data_dir>/secret.key`.
    pub secret_key: Option<Secret>,
    /// Encryption key, base64 of 32 bytes; unset means generated into `<data_dir>/master.key`.
    pub master_key: Option<Secret>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_timeout_secs: u64,
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub cors_origins: Vec<String>,
    /// Believe `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a proxy you run).
    pub trust_proxy: bool,
    /// `redis://…`: share rate limits across processes; unset keeps them in this process.
    pub redis_url: Option<Secret>,
    /// Requests per minute for each API key and each signed-in user.
    pub rate_limit_per_minute: u32,
    /// Requests a key or user may send at once before the per-minute pace applies.
    pub rate_limit_burst: u32,
    /// Requests per minute per client address on routes without a credential (login, register, …).
    pub rate_limit_ip_per_minute: u32,
    pub rate_limit_ip_burst: u32,
    /// Days a deleted workspace stays restorable before it is purged.
    pub workspace_purge_grace_days: u32,
    /// What this process does: `api`, `worker`, or both. A list in TOML, comma-separated in the
    /// environment.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub roles: Vec<Role>,
    /// Runs this process executes at once.
    pub worker_concurrency: usize,
    /// Seconds a worker's claim on a run lasts without renewal; a crashed worker's runs resume
    /// elsewhere after it.
    pub run_lease_secs: u64,
    /// Runs of one workspace executing at once across the process.
    pub workspace_run_cap: u32,
    /// Address ranges that nodes may reach although they are private, loopback, … (SSRF guard),
    /// e.g. `10.1.0.0/16`. A list in TOML, comma-separated in the environment.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub outbound_allow_cidrs: Vec<String>,
    /// For tests only: every outbound request of the nodes goes to this origin instead
    /// (`http://127.0.0.1:9000`; scheme, host and port replaced, path and query kept). Its
    /// address must be allowed by `outbound_allow_cidrs`.
    pub outbound_host_override: Option<String>,
    /// Days a finished run is kept, with its steps and blobs; 0 keeps runs forever.
    pub run_retention_days: u32,
    /// A step payload whose JSON is longer than this is stored as a blob, not in its row.
    pub max_inline_payload_bytes: usize,
    /// Most items one node may output.
    pub max_items_per_output: usize,
    /// Milliseconds a webhook request whose trigger answers with the run's result waits for it
    /// before answering 202 with the run id.
    pub webhook_wait_ms: u64,
    /// Waits of a webhook delivery's attempts in seconds, one entry per attempt: the first is sent
    /// at once, each later one this long after the previous failed. A list in TOML,
    /// comma-separated in the environment.
    #[serde(deserialize_with = "seconds_list")]
    pub webhook_retry_schedule: Vec<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./weft-data"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            migrate_on_start: None,
            db_max_connections: 10,
            db_min_connections: 0,
            db_acquire_timeout_secs: 5,
            log_format: LogFormat::Pretty,
            log_level: "info".to_owned(),
            public_url: None,
            smtp_url: None,
            mail_from: "Weft <weft@localhost>".to_owned(),
            secret_key: None,
            master_key: None,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_timeout_secs: 20,
            cors_origins: Vec::new(),
            trust_proxy: false,
            redis_url: None,
            rate_limit_per_minute: 100,
            rate_limit_burst: 20,
            rate_limit_ip_per_minute: 60,
            rate_limit_ip_burst: 20,
            workspace_purge_grace_days: 7,
            roles: vec![Role::Api, Role::Worker],
            worker_concurrency: 8,
            run_lease_secs: 30,
            workspace_run_cap: 10,
            outbound_allow_cidrs: Vec::new(),
            outbound_host_override: None,
            run_retention_days: 14,
            max_inline_payload_bytes: 64 * 1024,
            max_items_per_output: 10_000,
            webhook_wait_ms: 30_000,
            webhook_retry_schedule: weft_worker::webhooks::DEFAULT_SCHEDULE_SECS.to_vec(),
        }
    }
}

fn list_or_comma_separated<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err: fmt::Display>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let entries = match Raw::deserialize(deserializer)? {
        Raw::List(list) => list,
        Raw::Text(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    };
    entries.iter().map(|entry| entry.parse().map_err(serde::de::Error::custom)).collect()
}

/// Whole seconds as a TOML list, one number, or comma-separated text (the environment).
fn seconds_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<u64>),
        One(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::List(list) => Ok(list),
        Raw::One(secs) => Ok(vec![secs]),
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| entry.parse().map_err(|_| serde::de::Error::custom(format!("`{entry}` is not whole seconds"))))
            .collect(),
    }
}

/// Settings given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_concurrency: Option<usize>,
}

/// Environment variables with the `WEFT_` prefix that are not settings of `weft serve`.
const NOT_SETTINGS: &[&str] = &["config"];

fn environment() -> Env {
    Env::prefixed("WEFT_").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        let key = key.as_str();
        // WEFT_TEST_* belong to the test suite, WEFT_CONFIG names the file.
        !key.starts_with("test_") && !NOT_SETTINGS.contains(&key)
    })
}

fn layered(file: Option<&Path>, overrides: &Overrides) -> Figment {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment.merge(environment()).merge(Serialized::defaults(overrides))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers. `file` is `--config`/`WEFT_CONFIG`; without it, `<data_dir>/weft.toml`
    /// is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            return extract(layered(Some(file), overrides));
        }
        let first = extract(layered(None, overrides))?;
        let default_file = first.data_dir.join("weft.toml");
        if default_file.is_file() { extract(layered(Some(&default_file), overrides)) } else { Ok(first) }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("weft.db").display()),
        }
    }

    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{bound}")).trim_end_matches('/').to_owned()
    }

    fn validate(self) -> Result<Config, ConfigError> {
        let invalid = |key: &str, why: &str| Err(ConfigError::Invalid(format!("key `{key}`: {why}")));
        if self.db_max_connections == 0 {
            return invalid("db_max_connections", "must be at least 1");
        }
        if self.db_min_connections > self.db_max_connections {
            return invalid("db_min_connections", "must not exceed db_max_connections");
        }
        if self.body_limit_bytes < 1024 {
            return invalid("body_limit_bytes", "must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            return invalid("request_timeout_secs", "must be at least 1");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("public_url", "must start with http:// or https://");
        }
        if let Some(url) = &self.database_url
            && weft_store::Backend::from_url(url.expose()).is_err()
        {
            return invalid("database_url", "must start with sqlite:, postgres:// or postgresql://");
        }
        if let Some(origin) =
            self.cors_origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return invalid("cors_origins", &format!("`{origin}` is not an http(s) origin"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return invalid("log_level", "is not a valid tracing filter");
        }
        for (key, value) in [
            ("rate_limit_per_minute", self.rate_limit_per_minute),
            ("rate_limit_burst", self.rate_limit_burst),
            ("rate_limit_ip_per_minute", self.rate_limit_ip_per_minute),
            ("rate_limit_ip_burst", self.rate_limit_ip_burst),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.roles.is_empty() {
            return invalid("roles", "must name `api`, `worker` or both");
        }
        if self.worker_concurrency == 0 {
            return invalid("worker_concurrency", "must be at least 1");
        }
        if self.run_lease_secs < 3 {
            return invalid("run_lease_secs", "must be at least 3");
        }
        if self.workspace_run_cap == 0 {
            return invalid("workspace_run_cap", "must be at least 1");
        }
        if self.max_inline_payload_bytes < 1024 {
            return invalid("max_inline_payload_bytes", "must be at least 1024");
        }
        if self.max_items_per_output == 0 {
            return invalid("max_items_per_output", "must be at least 1");
        }
        if self.webhook_retry_schedule.is_empty() {
            return invalid("webhook_retry_schedule", "must list at least one attempt");
        }
        if let Err(error) = weft_worker::outbound::OutboundPolicy::from_cidrs(&self.outbound_allow_cidrs) {
            return invalid("outbound_allow_cidrs", &error.to_string());
        }
        if let Some(origin) = &self.outbound_host_override
            && reqwest::Url::parse(origin)
                .map_or(true, |url| !matches!(url.scheme(), "http" | "https") || !url.has_host())
        {
            return invalid("outbound_host_override", "must be an http or https origin, e.g. http://127.0.0.1:9000");
        }
        if let Some(url) = &self.redis_url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return invalid("redis_url", "must start with redis:// or rediss://");
        }
        Ok(self)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The request budgets (`validate` has refused zeros).
    pub fn quotas(&self) -> weft_http::Quotas {
        let quota = |per_minute, burst| weft_domain::Quota { per_minute, burst };
        weft_http::Quotas {
            api_key: quota(self.rate_limit_per_minute, self.rate_limit_burst),
            user: quota(self.rate_limit_per_minute, self.rate_limit_burst),
            ip: quota(self.rate_limit_ip_per_minute, self.rate_limit_ip_burst),
        }
    }
}

fn extract(figment: Figment) -> Result<Config, ConfigError> {
    let config: Config = figment.extract().map_err(|error| {
        // One line per problem, each naming its key and where the value came from.
        ConfigError::Invalid(error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
    })?;
    config.validate()
}

#[cfg(test)]
// figment's `Jail` closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;

    /// Loads with no `--config` file, as `weft serve` does by default.
    fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::load(None, overrides)
    }

    #[test]
    fn defaults_need_no_configuration() {
        Jail::expect_with(|_| {
            let config = load(&Overrides::default()).expect("defaults load");
            assert_eq!(config.bind, SocketAddr::from(([127, 0, 0, 1], 8080)));
            assert_eq!(config.data_dir, PathBuf::from("./weft-data"));
            assert_eq!(config.database_url(), "sqlite://./weft-data/weft.db?mode=rwc");
            assert_eq!(config.public_url(config.bind), "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn file_then_env_then_flags_take_precedence() {
        Jail::expect_with(|jail| {
            jail.create_dir("weft-data")?;
            jail.create_file(
                "weft-data/weft.toml",
                "bind = \"127.0.0.1:1111\"\nlog_level = \"debug\"\nbody_limit_bytes = 2048",
            )?;
            let config = load(&Overrides::default()).expect("file loads");
            assert_eq!((config.bind.port(), config.log_level.as_str()), (1111, "debug"));

            jail.set_env("WEFT_BIND", "127.0.0.1:2222");
            jail.set_env("WEFT_CORS_ORIGINS", "https://a.example, https://b.example");
            let config = load(&Overrides::default()).expect("env loads");
            assert_eq!(config.bind.port(), 2222, "env beats file");
            assert_eq!(config.body_limit_bytes, 2048, "file beats defaults");
            assert_eq!(config.cors_origins, ["https://a.example", "https://b.example"]);

            let flags = Overrides { bind: Some(SocketAddr::from(([127, 0, 0, 1], 3333))), ..Overrides::default() };
            assert_eq!(load(&flags).expect("flags load").bind.port(), 3333, "flags beat env");
            Ok(())
        });
    }

    #[test]
    fn the_data_dir_flag_chooses_which_weft_toml_is_read() {
        Jail::expect_with(|jail| {
            jail.create_dir("elsewhere")?;
            jail.create_file("elsewhere/weft.toml", "mail_from = \"Ops <ops@example.com>\"")?;
            let flags = Overrides { data_dir: Some("elsewhere".into()), ..Overrides::default() };
            assert_eq!(load(&flags).expect("loads").mail_from, "Ops <ops@example.com>");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        Jail::expect_with(|jail| {
            jail.create_dir("weft-data")?;
            jail.create_file("weft-data/weft.toml", "bindd = \"127.0.0.1:1\"")?;
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("bindd"), "{error}");

            jail.create_file("weft-data/weft.toml", "")?;
            jail.set_env("WEFT_DB_MAX_CONNECTIONS", "lots");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("DB_MAX_CONNECTIONS") && error.contains("WEFT_"), "{error}");

            jail.set_env("WEFT_DB_MAX_CONNECTIONS", "0");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("db_max_connections"), "{error}");

            jail.set_env("WEFT_DB_MAX_CONNECTIONS", "4");
            jail.set_env("WEFT_PUBLIC_URL", "weft.example.com");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("public_url"), "{error}");

            jail.set_env("WEFT_PUBLIC_URL", "https://weft.example.com");
            jail.set_env("WEFT_OUTBOUND_ALLOW_CIDRS", "10.0.0.0/8, 300.1.2.3/32");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("outbound_allow_cidrs") && error.contains("300.1.2.3"), "{error}");
            jail.set_env("WEFT_OUTBOUND_ALLOW_CIDRS", "10.0.0.0/8, 127.0.0.0/8");
            assert_eq!(load(&Overrides::default()).unwrap().outbound_allow_cidrs.len(), 2);
            Ok(())
        });
    }

    #[test]
    fn roles_default_to_both_and_come_from_file_env_or_flags() {
        Jail::expect_with(|jail| {
            assert_eq!(load(&Overrides::default()).unwrap().roles, [Role::Api, Role::Worker]);
            jail.create_dir("weft-data")?;
            jail.create_file("weft-data/weft.toml", "roles = [\"worker\"]")?;
            assert_eq!(load(&Overrides::default()).unwrap().roles, [Role::Worker]);
            jail.set_env("WEFT_ROLES", "api, worker");
            assert_eq!(load(&Overrides::default()).unwrap().roles, [Role::Api, Role::Worker]);
            let flags = Overrides { roles: Some(vec![Role::Api]), ..Overrides::default() };
            assert_eq!(load(&flags).unwrap().roles, [Role::Api]);

            jail.set_env("WEFT_ROLES", "api,scheduler");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("scheduler") && error.contains("ROLES"), "{error}");
            jail.set_env("WEFT_ROLES", "");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("`roles`"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn test_variables_and_the_config_path_are_not_settings() {
        Jail::expect_with(|jail| {
            jail.set_env("WEFT_TEST_DATABASE_URL", "postgres://x@y/z");
            jail.set_env("WEFT_CONFIG", "/nowhere/weft.toml");
            assert!(load(&Overrides::default()).is_ok());
            Ok(())
        });
    }

    #[test]
    fn an_explicit_missing_config_file_is_an_error() {
        Jail::expect_with(|_| {
            let error = Config::load(Some(Path::new("missing.toml")), &Overrides::default()).unwrap_err();
            assert!(matches!(error, ConfigError::MissingFile(_)));
            Ok(())
        });
    }

    #[test]
    fn retention_and_payload_limits_have_defaults_and_read_the_environment() {
        Jail::expect_with(|jail| {
            let config = load(&Overrides::default()).expect("defaults load");
            assert_eq!(
                (config.run_retention_days, config.max_inline_payload_bytes, config.max_items_per_output),
                (14, 65_536, 10_000)
            );
            jail.set_env("WEFT_RUN_RETENTION_DAYS", "0");
            jail.set_env("WEFT_MAX_INLINE_PAYLOAD_BYTES", "4096");
            jail.set_env("WEFT_MAX_ITEMS_PER_OUTPUT", "50");
            let config = load(&Overrides::default()).expect("env loads");
            assert_eq!(
                (config.run_retention_days, config.max_inline_payload_bytes, config.max_items_per_output),
                (0, 4096, 50)
            );
            jail.set_env("WEFT_MAX_INLINE_PAYLOAD_BYTES", "100");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("max_inline_payload_bytes"), "{error}");
            jail.set_env("WEFT_MAX_INLINE_PAYLOAD_BYTES", "4096");
            jail.set_env("WEFT_MAX_ITEMS_PER_OUTPUT", "0");
            let error = load(&Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("max_items_per_output"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let config = Config { secret_key: Some(Secret::new("hunter2-hunter2-hunter2-hunter2-x")), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
