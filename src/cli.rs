//! The `endorse` command line.

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::auth::jwt::mint_dev_token;
use crate::config::Config;
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
        #[command(flatten)]
        config: Config,
    },
    /// Load data.
    Seed {
        /// Idempotent demo data: a few applicants in different states.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        config: Config,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(&value.to_ascii_uppercase())
        .ok_or_else(|| format!("`{value}` is not one of APPLICANT, REVIEWER, COORDINATOR, REPORTER, ADMIN"))
}

/// Runs the command; the error is printed by `main` as one line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            crate::telemetry::init(config.log_format, &config.log);
            let app = Application::build(config).await?;
            tracing::info!(address = %app.address(), "Endorse is listening");
            app.run_until(shutdown_signal()).await?;
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token { sub, roles, ttl, config } => {
            config.validate()?;
            println!("{}", mint_dev_token(&config, &sub, &roles, ttl)?);
            Ok(())
        }
        Command::Seed { demo, config } => {
            crate::telemetry::init(config.log_format, &config.log);
            anyhow::ensure!(demo, "say what to seed: --demo");
            let services = connect(&Arc::new(config)).await?;
            let summary = crate::seed::demo(&services).await?;
            println!("{summary}");
            Ok(())
        }
    }
}
