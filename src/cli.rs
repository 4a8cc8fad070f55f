//! The `endorse` command line.

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::auth::jwt::mint_dev_token;
use crate::config::Config;
use crate::domain::association::AssociationCode;
use crate::startup::{Application, connect, shutdown_signal};

#[derive(Debug, Parser)]
#[command(name = "endorse", version, about = "GraphQL backend for IECMH Endorsement portfolios")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        #[command(flatten)]
        config: Config,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Mint a development token (HS256, the configured secret).
    Token {
        /// Subject: the user id.
        #[arg(long)]
        sub: String,
        /// Roles, repeatable: APPLICANT, REVIEWER, COORDINATOR, REPORTER, ADMIN.
        #[arg(long = "role", value_parser = parse_role, required = true)]
        roles: Vec<Role>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 8 * 3600)]
        ttl: u64,
        /// The association the roles hold in [default: ENDORSE_DEFAULT_ASSOCIATION;
        /// none for a PLATFORM_ADMIN token].
        #[arg(long)]
        association: Option<AssociationCode>,
        #[command(flatten)]
        config: Config,
    },
    /// Remove expired pending uploads and objects without a record.
    Sweep {
        #[command(flatten)]
        config: Config,
    },
    /// Give documents without an association to ENDORSE_DEFAULT_ASSOCIATION
    /// (start-up does this once per database; run it after instances of a
    /// build from before associations wrote more).
    Migrate {
        #[command(flatten)]
        config: Config,
    },
    /// Exit 0 if a URL answers 200 (container health checks: the runtime
    /// image has no curl).
    Probe {
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
    /// Load data.
    Seed {
        /// Idempotent demo data: a few applicants in different states.
        #[arg(long)]
        demo: bool,
        /// N reproducible synthetic portfolios (mixed categories, tracks,
        /// statuses, dates since 2019) with evidence metadata.
        #[arg(long, value_name = "N")]
        synthetic: Option<u64>,
        /// The association synthetic data is written to [default: ENDORSE_DEFAULT_ASSOCIATION].
        #[arg(long)]
        association: Option<AssociationCode>,
        /// Seed of the synthetic data: the same seed writes the same documents.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Portfolios per insert.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch_size: u64,
        #[command(flatten)]
        config: Config,
    },
    /// Print a new Ed25519 private JWK for ENDORSE_CREDENTIAL_KEYS (put it
    /// first in the association's `keys`; keep the old key's `x` listed).
    CredentialKey {
        /// The key's id, e.g. `nys-aimh-2027` (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        kid: String,
    },
    /// Print the README's table of settings (Markdown), from the definitions
    /// above; `scripts/config-table.sh` writes it into README.md.
    #[command(hide = true)]
    ConfigTable,
}

impl Command {
    /// Whether the command reads the settings (flattens [`Config`]): those
    /// refuse unknown `ENDORSE_*` variables.
    fn reads_settings(&self) -> bool {
        match self {
            Command::Serve { .. }
            | Command::Token { .. }
            | Command::Sweep { .. }
            | Command::Migrate { .. }
            | Command::Seed { .. } => true,
            Command::Schema | Command::Probe { .. } | Command::ConfigTable | Command::CredentialKey { .. } => false,
        }
    }
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(&value.to_ascii_uppercase()).ok_or_else(|| {
        format!("`{value}` is not one of APPLICANT, REVIEWER, COORDINATOR, REPORTER, ADMIN, PLATFORM_ADMIN")
    })
}

/// Runs the command; the error is printed by `main` as one line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.command.reads_settings() {
        crate::config::env::check_process()?;
    }
    match cli.command {
        Command::Serve { config } => {
            // Dropped last: the spans of the final requests are sent.
            let _exporting = crate::telemetry::init_server(&config).map_err(anyhow::Error::msg)?;
            let app = Application::build(config).await?;
            tracing::info!(address = %app.address(), "Endorse is listening");
            if let Some(metrics) = app.metrics_address() {
                tracing::info!(address = %metrics, "metrics are served at /metrics");
            }
            app.run_until(shutdown_signal()).await?;
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token { sub, roles, ttl, association, config } => {
            config.validate()?;
            let platform_only = roles == [Role::PlatformAdmin];
            let association = association.or_else(|| (!platform_only).then(|| config.default_association.clone()));
            println!("{}", mint_dev_token(&config, &sub, &roles, association.as_ref(), ttl)?);
            Ok(())
        }
        Command::Probe { url } => probe(&url).await,
        Command::CredentialKey { kid } => {
            let jwk = crate::signing::new_private_jwk(&kid);
            // Refuse an id the server would refuse at start-up.
            let keys = serde_json::json!({ "check": { "keys": [jwk] } }).to_string();
            crate::signing::SigningKeys::parse(&keys, false).map_err(anyhow::Error::msg)?;
            println!("{jwk}");
            Ok(())
        }
        Command::ConfigTable => {
            print!("{}", crate::config::table::markdown());
            Ok(())
        }
        Command::Sweep { config } => {
            crate::telemetry::init(config.log_format, &config.log);
            let grace = std::time::Duration::from_secs(config.evidence.sweep_grace_seconds);
            let services = connect(&Arc::new(config)).await?;
            println!("{}", crate::sweeper::sweep(&services, grace).await?);
            Ok(())
        }
        Command::Migrate { config } => {
            crate::telemetry::init(config.log_format, &config.log);
            let default = config.default_association.clone();
            let services = connect(&Arc::new(config)).await?;
            let migrated = crate::store::migrate::assign_association(services.store_unchecked(), &default).await?;
            println!(
                "gave {} portfolios, {} evidence records and {} audit records to {default}",
                migrated.portfolios, migrated.evidence, migrated.audit_records
            );
            Ok(())
        }
        Command::Seed { demo, synthetic, association, seed, batch_size, config } => {
            let association = association.unwrap_or_else(|| config.default_association.clone());
            crate::telemetry::init(config.log_format, &config.log);
            anyhow::ensure!(demo || synthetic.is_some(), "say what to seed: --demo and/or --synthetic N");
            let services = connect(&Arc::new(config)).await?;
            if demo {
                println!("{}", crate::seed::demo(&services).await?);
            }
            if let Some(count) = synthetic {
                println!("{}", crate::seed::synthetic_batches(&services, &association, count, seed, batch_size).await?);
            }
            Ok(())
        }
    }
}

/// A minimal HTTP/1.1 GET over plain TCP: enough for a loopback probe.
async fn probe(url: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uri: http::Uri = url.parse()?;
    anyhow::ensure!(uri.scheme_str() == Some("http"), "only http:// URLs can be probed");
    let host = uri.host().ok_or_else(|| anyhow::anyhow!("the URL has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 64];
        let read = stream.read(&mut head).await?;
        anyhow::Ok(String::from_utf8_lossy(&head[..read]).into_owned())
    };
    let head = tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await??;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    anyhow::ensure!(status == "200", "{url} answered {status}");
    Ok(())
}
