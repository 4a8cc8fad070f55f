//! Building and running the server. `main` stays thin; tests build an
//! [`Application`] on port 0 and talk to it over real HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::tenants::{BuiltInRulebooks, Tenants};
use crate::auth::jwt::TokenVerifier;
use crate::blob::BlobStore;
use crate::config::Config;
use crate::domain::Rulebook;
use crate::domain::association::AssociationCode;
use crate::graphql::build_schema;
use crate::health::Health;
use crate::http::serve::{ConnectionLimits, serve};
use crate::http::{AppState, router};
use crate::services::Services;
use crate::store::Store;
use crate::store::associations::AssociationStore;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
    #[error("MongoDB: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("S3: {0}")]
    Blob(#[from] crate::blob::BlobError),
    #[error("rulebook: {0}")]
    Rulebook(String),
    #[error("mail: {0}")]
    Mail(String),
}

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
    connections: ConnectionLimits,
    /// Tasks that end with the server (health monitor, rate-limit upkeep).
    background: Vec<tokio::task::JoinHandle<()>>,
    read_audit: crate::store::audit::ReadAudit,
    sweeper: Option<tokio::task::JoinHandle<()>>,
    /// The listener that serves only `/metrics`, when configured.
    metrics: Option<SocketAddr>,
}

/// Connects to MongoDB and S3 and prepares them (indexes, the default
/// association, migrations; the bucket in development). Shared by `serve`
/// and the other subcommands.
pub async fn connect(config: &Arc<Config>) -> Result<Services, StartupError> {
    config.validate()?;
    let verifier = TokenVerifier::from_config(config)?;
    let signing = config.signing_keys()?;
    let built_in = built_in_rulebooks(config)?;
    // A probe gets as long as any MongoDB operation's server selection.
    let health = Health::new(std::time::Duration::from_millis(config.mongodb.timeout_ms));
    let store = Store::connect_watched(&config.mongodb, &health)
        .await?
        .keeping_decoded(config.limits.decoded_portfolios_mib.saturating_mul(1024 * 1024));
    store.ensure_indexes().await?;
    let clock = crate::clock::Clock::new(config.is_development());
    let tenants = Tenants::new(
        AssociationStore::new(&store),
        built_in,
        health.clone(),
        clock,
        config.default_association.clone(),
    );
    let default = &config.default_association;
    if tenants.ensure(default).await? {
        tracing::info!(association = %default, "created the default association");
    }
    if let Some(migrated) = crate::store::migrate::assign_association_once(&store, default).await?
        && migrated.total() > 0
    {
        tracing::info!(association = %default, ?migrated, "gave documents without an association to the default one");
    }
    let blob = BlobStore::new(&config.s3);
    if config.is_development() {
        blob.ensure_bucket().await?;
    }
    Ok(Services::new(config.clone(), store, blob, verifier, signing, tenants, health))
}

/// The rulebooks compiled in (`rulebooks/*.json`), with the default
/// association's replaced by ENDORSE_RULEBOOK_FILE when given. A
/// malformed file stops start-up with file, line and problem.
pub fn built_in_rulebooks(config: &Config) -> Result<BuiltInRulebooks, StartupError> {
    let mut rulebooks = BuiltInRulebooks::new();
    for (name, source) in BUILT_IN {
        let rulebook = Rulebook::from_json(name, source).map_err(|e| StartupError::Rulebook(e.to_string()))?;
        let code = AssociationCode::parse(&rulebook.association)
            .map_err(|e| StartupError::Rulebook(format!("{name}: {e}")))?;
        rulebooks.insert(code, Arc::new(rulebook));
    }
    if let Some(path) = &config.rulebook_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StartupError::Rulebook(format!("ENDORSE_RULEBOOK_FILE: cannot read {}: {e}", path.display()))
        })?;
        let rulebook = Rulebook::from_json(&path.display().to_string(), &text)
            .map_err(|e| StartupError::Rulebook(e.to_string()))?;
        if rulebook.association != config.default_association.as_str() {
            return Err(StartupError::Rulebook(format!(
                "ENDORSE_RULEBOOK_FILE: {} is the rulebook of `{}`, not of the default association `{}` \
                 (set ENDORSE_DEFAULT_ASSOCIATION)",
                path.display(),
                rulebook.association,
                config.default_association
            )));
        }
        rulebooks.insert(config.default_association.clone(), Arc::new(rulebook));
    }
    Ok(rulebooks)
}

/// The rulebooks in `rulebooks/`, compiled into the binary.
const BUILT_IN: [(&str, &str); 2] = [
    ("rulebooks/nys-aimh.json", crate::domain::rulebook::NYS_AIMH_JSON),
    ("rulebooks/ct-aimh.json", include_str!("../rulebooks/ct-aimh.json")),
];

impl Application {
    /// Validates the configuration, connects, binds the listener and returns
    /// without serving yet; [`Application::address`] tells the bound port.
    pub async fn build(mut config: Config) -> Result<Self, StartupError> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Listen { address: config.listen, source })?;
        let address =
            listener.local_addr().map_err(|source| StartupError::Listen { address: config.listen, source })?;
        // Links in mail need an address people reach; without one, the
        // bound listener's (right on one machine only).
        if config.mail.public_url.is_none() {
            if !config.is_development() {
                tracing::warn!("ENDORSE_PUBLIC_URL is not set: links in mail point at http://{address}");
            }
            config.mail.public_url = Some(format!("http://{address}"));
        }
        let config = Arc::new(config);
        // Before connecting: the MongoDB and S3 clients hook in only when
        // something will read what they record.
        if config.telemetry.metrics_enabled() {
            crate::telemetry::metrics::install();
        }
        let services = connect(&config).await?;
        let metrics = match config.telemetry.metrics_listen {
            Some(wanted) => {
                let listen = |source| StartupError::Listen { address: wanted, source };
                let listener = TcpListener::bind(wanted).await.map_err(listen)?;
                let bound = listener.local_addr().map_err(listen)?;
                Some((listener, bound))
            }
            None => None,
        };
        let monitor = services.health.spawn_monitor(services.store_unchecked().clone());
        let evidence = &config.evidence;
        let sweeper = (evidence.sweep_interval_seconds > 0).then(|| {
            crate::sweeper::spawn_periodic(
                services.clone(),
                std::time::Duration::from_secs(evidence.sweep_interval_seconds),
                std::time::Duration::from_secs(evidence.sweep_grace_seconds),
            )
        });
        let mailer = match config.mail.smtp_url.is_empty() {
            true => None,
            false => Some(
                crate::mail::Mailer::new(config.mail.smtp_url.expose(), &config.mail.mail_from)
                    .map_err(StartupError::Mail)?,
            ),
        };
        let outbox = crate::app::outbox::spawn(services.clone(), mailer);
        let schema = build_schema(&config, services.clone());
        let state = AppState::new(&config, schema, services);
        let limiter = state.rate_limiter.clone();
        let forget = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                limiter.forget_idle();
            }
        });
        let read_audit = state.services.read_audit.clone();
        let metrics_router = crate::http::metrics::listener_router(state.clone());
        let router = router(&config, state);
        let connections = ConnectionLimits::from_config(&config);
        let mut background = vec![monitor, forget, outbox];
        let metrics = metrics.map(|(listener, bound)| {
            background.push(tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, metrics_router).await {
                    tracing::error!(error = %error, "the metrics listener stopped");
                }
            }));
            bound
        });
        Ok(Application { listener, address, router, connections, background, sweeper, read_audit, metrics })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served without a token, if anywhere.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = serve(self.listener, self.router, self.connections, shutdown).await;
        // Reads answered before shutdown are recorded before the process ends.
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.read_audit.flush()).await {
            Ok(Ok(())) => tracing::info!("read-audit records written"),
            Ok(Err(error)) => tracing::error!(error = %error, "read-audit records could not be written"),
            Err(_) => tracing::error!("read-audit records still queued after 10 s"),
        }
        for task in self.background {
            task.abort();
        }
        if let Some(sweeper) = self.sweeper {
            sweeper.abort();
        }
        result
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; draining requests");
}
