//! `weft`: serve, migrate, administer.
#![forbid(unsafe_code)]

mod bench;
mod import;

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use weft::{Config, LogFormat, Overrides, Role};
use weft_domain::{EmailAddress, PasswordHash, password};
use weft_store::{NewUser, Origin};

#[derive(Parser)]
#[command(name = "weft", about = "Weft: workflow automation in one binary", disable_version_flag = true)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command shares. Each is also a `WEFT_*` variable and a `weft.toml` key.
#[derive(Args)]
struct CommonArgs {
    /// A weft.toml file [default: <data-dir>/weft.toml when present]
    #[arg(long, global = true, env = "WEFT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the database, keys and mail outbox live [env: WEFT_DATA_DIR] [default: ./weft-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [env: WEFT_DATABASE_URL] [default: SQLite in the data dir]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Log as human-readable lines or JSON [env: WEFT_LOG_FORMAT] [default: pretty]
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the service: the API and the workers, or the roles named by --roles
    Serve(ServeArgs),
    /// Execute runs only, with no HTTP (PostgreSQL only; scale out with several)
    Worker(WorkerArgs),
    /// Apply database migrations and exit
    Migrate,
    /// Administrative tasks
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the version
    Version,
    /// Measure run throughput, latency and memory on a scratch server (SQLite, and PostgreSQL)
    Bench(bench::BenchArgs),
    /// Import workflows from another tool
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// n8n workflow exports (files or directories of .json files) as draft workflows
    N8n(ImportN8nArgs),
}

#[derive(Args)]
struct ImportN8nArgs {
    /// The workspace to create the workflows in (its id or slug)
    #[arg(long, value_name = "WS", required_unless_present = "report")]
    workspace: Option<String>,
    /// Only print how much of the files Weft supports (needs no database)
    #[arg(long, conflicts_with = "workspace")]
    report: bool,
    /// n8n export files (an object or an array) and directories of them
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [env: WEFT_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Apply migrations on start (SQLite does unless WEFT_MIGRATE_ON_START=false) [env: WEFT_MIGRATE_ON_START]
    #[arg(long)]
    migrate: bool,
    /// What this process does; only PostgreSQL lets processes split them [env: WEFT_ROLES] [default: api,worker]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ROLES")]
    roles: Vec<Role>,
}

#[derive(Args)]
struct WorkerArgs {
    /// Runs this process executes at once [env: WEFT_WORKER_CONCURRENCY] [default: 8]
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account; the password is read from standard input
    CreateUser {
        #[arg(long)]
        email: String,
        /// Display name [default: the part of the email before @]
        #[arg(long)]
        name: Option<String>,
        /// Make the account a platform operator
        #[arg(long)]
        operator: bool,
    },
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chains and report the first broken link of each; exits 1 if any is broken
    Verify {
        /// Only this workspace's chain (its id); default: every chain, accounts included
        #[arg(long, value_name = "WS")]
        workspace: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("weft: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("weft: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        data_dir: cli.common.data_dir,
        database_url: cli.common.database_url,
        log_format: cli.common.log_format,
        ..Overrides::default()
    };
    match &cli.command {
        Command::Serve(serve) => {
            overrides.bind = serve.bind;
            overrides.migrate_on_start = serve.migrate.then_some(true);
            overrides.roles = (!serve.roles.is_empty()).then(|| serve.roles.clone());
        }
        Command::Worker(worker) => {
            overrides.roles = Some(vec![Role::Worker]);
            overrides.worker_concurrency = worker.concurrency;
        }
        _ => {}
    }
    if let Command::Bench(args) = &cli.command {
        return bench::run(args).await;
    }
    if let Command::Import(ImportCommand::N8n(args)) = &cli.command
        && args.report
    {
        return import::report(&args.paths);
    }
    if let Command::Version = cli.command {
        println!("weft {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let config = Config::load(cli.common.config.as_deref(), &overrides)?;
    weft::init_logging(&config);
    match cli.command {
        Command::Serve(_) | Command::Worker(_) => serve(config).await,
        Command::Migrate => {
            let store = weft::open_store(&config, true).await?;
            println!("migrations are current ({})", store.backend().name());
            store.close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::CreateUser { email, name, operator }) => {
            create_user(&config, &email, name.as_deref(), operator).await
        }
        Command::Admin(AdminCommand::Audit(AuditCommand::Verify { workspace })) => {
            verify_audit(&config, workspace.as_deref()).await
        }
        Command::Import(ImportCommand::N8n(args)) => match &args.workspace {
            Some(workspace) => import::import(&config, workspace, &args.paths).await,
            None => bail!("--workspace is required"),
        },
        Command::Version | Command::Bench(_) => Ok(()),
    }
}

async fn verify_audit(config: &Config, workspace: Option<&str>) -> anyhow::Result<()> {
    let store = weft::open_store(config, false).await?;
    let started = std::time::Instant::now();
    let chains = store.audit_chains(workspace).await?;
    if let Some(workspace) = workspace
        && chains.is_empty()
    {
        store.close().await;
        bail!("no audit chain for workspace {workspace}");
    }
    let (mut entries, mut broken) = (0u64, 0usize);
    for chain in &chains {
        let report = store.verify_audit_chain(chain).await?;
        entries += report.entries;
        if let Some(link) = report.broken {
            broken += 1;
            println!("BROKEN {chain}: entry {} (seq {}): {}", link.id, link.seq, link.reason);
        }
    }
    store.close().await;
    let elapsed = started.elapsed();
    println!("verified {} chain(s), {entries} entries in {:.2?}: {broken} broken", chains.len(), elapsed);
    if broken > 0 {
        bail!("the audit log has been altered");
    }
    Ok(())
}

/// Runs the configured roles; only the api role binds the listening address.
async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = if config.has_role(Role::Api) {
        Some(tokio::net::TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?)
    } else {
        None
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    weft::run(config, listener, shutdown).await
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            let _ = ctrl_c.await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
    }
    shutdown.cancel();
}

async fn create_user(config: &Config, email: &str, name: Option<&str>, operator: bool) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = name.map_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned(), str::to_owned);
    let password = read_password()?;
    password::check_policy(&password).map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let hash = tokio::task::spawn_blocking(move || PasswordHash::new(&password)).await?;
    let store = weft::open_store(config, weft::migrates_on_start(config)).await?;
    let new = NewUser { email: &email, name: &name, password_hash: &hash, is_operator: operator };
    let created = store.create_user(new, &Origin::default()).await;
    store.close().await;
    let (user, _personal) = match created {
        Ok(created) => created,
        Err(weft_store::StoreError::Conflict { .. }) => bail!("an account with the email {email} already exists"),
        Err(other) => return Err(other).context("creating the account"),
    };
    let role = if user.is_operator { "operator" } else { "user" };
    println!("created {role} {} <{}> with id {}", user.name, user.email, user.id);
    Ok(())
}

/// One line from standard input; a prompt is shown only when a person is typing.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (10–128 characters; it will be visible): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input (pipe it in, e.g. `echo \"$PASSWORD\" | weft admin create-user …`)");
    }
    Ok(password)
}
