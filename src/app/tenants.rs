//! Which associations exist, with their calendars and rulebooks, cached
//! briefly per instance. Instances keep no other state: an association
//! created or a rulebook published through one instance is seen by the
//! others once their entry is older than [`FRESH_FOR`] (the publishing
//! instance sees it at once).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::app::error::{AppError, AppResult};
use crate::clock::Clock;
use crate::domain::Rulebook;
use crate::domain::association::{Association, AssociationCode, parse_time_zone};
use crate::domain::fees::FeeSchedule;
use crate::domain::model::{Language, MailKind};
use crate::store::associations::{AssociationDocument, AssociationStore, MailTemplateRevision};

/// How long an instance trusts what it read about an association.
pub const FRESH_FOR: Duration = Duration::from_secs(15);

/// An association as a request uses it.
#[derive(Debug)]
pub struct Tenant {
    pub association: Association,
    /// Subjects holding ADMIN here whatever their tokens say.
    pub admins: Vec<String>,
    /// Its rulebook: the latest published, else the built-in one; `None`
    /// until one is published (then eligibility cannot be evaluated).
    pub rulebook: Option<Arc<Rulebook>>,
    /// The latest published revision (0: the built-in rulebook or none).
    pub rulebook_revision: i32,
    /// The latest revision of each mail template the association published
    /// (a kind and language not here is sent with the built-in template).
    pub mail_templates: HashMap<(MailKind, Language), MailTemplateRevision>,
    /// Its fees: those of its rulebook's versions, and NYS-AIMH's
    /// membership fees (see [`FeeSchedule::compose`]).
    pub fees: Arc<FeeSchedule>,
    /// The deployment's clock (settable in development).
    pub clock: Clock,
    /// The deployment's default association: documents written before
    /// associations existed are its own.
    pub is_default: bool,
}

impl Tenant {
    pub fn code(&self) -> &AssociationCode {
        &self.association.code
    }

    /// What the stores reach for this association, in its calendar.
    pub fn scope(&self) -> crate::store::TenantScope {
        crate::store::TenantScope::new(self.code(), self.association.time_zone).holding_legacy(self.is_default)
    }

    /// The rulebook, or BAD_USER_INPUT naming `field` when there is none.
    pub fn rulebook(&self, field: &str) -> AppResult<&Arc<Rulebook>> {
        self.rulebook.as_ref().ok_or_else(|| {
            AppError::bad_input(field, format!("{} has not published a rulebook yet", self.association.code))
        })
    }

    /// Its renewal rules: its rulebook's, else NYS-AIMH's.
    pub fn renewal_rules(&self) -> &crate::domain::renewal::RenewalRules {
        self.rulebook
            .as_ref()
            .and_then(|rulebook| rulebook.renewal.as_ref())
            .unwrap_or_else(|| crate::domain::renewal::nys_aimh())
    }

    /// The association's calendar day now.
    pub fn today(&self) -> chrono::NaiveDate {
        self.association.today(self.clock.now())
    }
}

/// What an instance read about each association, and when.
type Cache = HashMap<AssociationCode, (Instant, Arc<Tenant>)>;

/// Rulebooks compiled in or given at start-up, by association.
pub type BuiltInRulebooks = HashMap<AssociationCode, Arc<Rulebook>>;

#[derive(Clone)]
pub struct Tenants {
    store: AssociationStore,
    /// While the breaker is open a cached entry answers at once instead of
    /// waiting out server selection (an association is never deleted).
    health: crate::health::Health,
    built_in: Arc<BuiltInRulebooks>,
    cache: Arc<RwLock<Cache>>,
    /// Associations being read again in the background: one refresh at a
    /// time each, however many requests find the entry stale.
    refreshing: Arc<std::sync::Mutex<std::collections::HashSet<AssociationCode>>>,
    clock: Clock,
    /// The deployment's default association.
    default: AssociationCode,
}

impl Tenants {
    pub fn new(
        store: AssociationStore,
        built_in: BuiltInRulebooks,
        health: crate::health::Health,
        clock: Clock,
        default: AssociationCode,
    ) -> Self {
        Tenants {
            store,
            health,
            built_in: Arc::new(built_in),
            cache: Arc::default(),
            refreshing: Arc::default(),
            clock,
            default,
        }
    }

    /// The clock every association's calendar reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn store(&self) -> &AssociationStore {
        &self.store
    }

    /// Creates `code` unless it exists (the default association at
    /// start-up, the demo data), named as its built-in rulebook names it and
    /// on New York time (US associations) until an admin says otherwise;
    /// whether it was created.
    pub async fn ensure(&self, code: &AssociationCode) -> Result<bool, crate::store::StoreError> {
        let name = self.built_in.get(code).map_or_else(|| code.to_string(), |rulebook| rulebook.name.clone());
        let document = AssociationDocument {
            code: code.clone(),
            name,
            time_zone: "America/New_York".to_owned(),
            settings: Default::default(),
            admins: Vec::new(),
            created_at: mongodb::bson::DateTime::now(),
        };
        self.store.ensure(&document).await
    }

    /// The association `code`, if it exists. A known association answers
    /// from memory: once its entry is older than [`FRESH_FOR`] one
    /// background task reads it again while requests go on with what is
    /// known (an association is never deleted, and a rulebook version takes
    /// effect after the day it is published). Only an association this
    /// instance has not seen yet waits for MongoDB, so no request waits on
    /// a slow or restarting database for an association it already knows.
    pub async fn get(&self, code: &AssociationCode) -> AppResult<Option<Arc<Tenant>>> {
        let cached = self.cache.read().ok().and_then(|cache| cache.get(code).cloned());
        if let Some((at, tenant)) = cached {
            if at.elapsed() >= FRESH_FOR && self.health.mongo_available() {
                self.refresh_in_background(code);
            }
            return Ok(Some(tenant));
        }
        if !self.health.mongo_available() {
            return Err(AppError::ServiceUnavailable("The database"));
        }
        self.load(code).await
    }

    fn refresh_in_background(&self, code: &AssociationCode) {
        let Ok(mut refreshing) = self.refreshing.lock() else { return };
        if !refreshing.insert(code.clone()) {
            return;
        }
        drop(refreshing);
        let (tenants, code) = (self.clone(), code.clone());
        tokio::spawn(async move {
            if let Err(error) = tenants.load(&code).await {
                tracing::warn!(association = %code, error = ?error, "association not refreshed; the cached one stays");
            }
            if let Ok(mut refreshing) = tenants.refreshing.lock() {
                refreshing.remove(&code);
            }
        });
    }

    /// Reads `code` again (after a change made through this instance).
    pub async fn load(&self, code: &AssociationCode) -> AppResult<Option<Arc<Tenant>>> {
        let Some(document) = self.store.get(code).await? else {
            return Ok(None);
        };
        // A refresh usually finds the revision it has: only its number is
        // read then, and the parsed rulebook is kept.
        let revision = self.store.latest_rulebook_revision(code).await?.unwrap_or(0);
        let cached = self.cache.read().ok().and_then(|cache| cache.get(code).map(|(_, tenant)| tenant.clone()));
        // The fees follow from the rulebook alone, so they are kept with it.
        let (rulebook, fees) = match cached {
            Some(known) if known.rulebook_revision == revision => (known.rulebook.clone(), known.fees.clone()),
            _ => {
                let rulebook = if revision == 0 {
                    self.built_in.get(code).cloned()
                } else {
                    let published = self.store.rulebook_revision(code, revision).await?.ok_or_else(|| {
                        AppError::internal(format!("revision {revision} of the {code} rulebook vanished"))
                    })?;
                    let parsed = Rulebook::from_json(&format!("{code} revision {revision}"), &published.source)
                        .map_err(AppError::internal)?;
                    Some(Arc::new(parsed))
                };
                let fees = Arc::new(FeeSchedule::compose(rulebook.as_deref(), &other_fees(code)));
                (rulebook, fees)
            }
        };
        let mail_templates = self.store.latest_mail_templates(code).await?;
        let is_default = document.code == self.default;
        let mut tenant = tenant_of(document, rulebook, revision, fees, self.clock.clone(), is_default)?;
        tenant.mail_templates = mail_templates.into_iter().map(|t| ((t.kind, t.language), t)).collect();
        let tenant = Arc::new(tenant);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(code.clone(), (Instant::now(), tenant.clone()));
        }
        Ok(Some(tenant))
    }
}

fn tenant_of(
    document: AssociationDocument,
    rulebook: Option<Arc<Rulebook>>,
    revision: i32,
    fees: Arc<FeeSchedule>,
    clock: Clock,
    is_default: bool,
) -> AppResult<Tenant> {
    let time_zone = parse_time_zone(&document.time_zone).map_err(AppError::internal)?;
    Ok(Tenant {
        association: Association { code: document.code, name: document.name, time_zone, settings: document.settings },
        admins: document.admins,
        rulebook,
        rulebook_revision: revision,
        mail_templates: HashMap::new(),
        fees,
        clock,
        is_default,
    })
}

/// The fees an association charges besides those in its rulebook.
fn other_fees(code: &AssociationCode) -> FeeSchedule {
    if *code == AssociationCode::nys_aimh() { FeeSchedule::nys_aimh_memberships() } else { FeeSchedule::default() }
}
