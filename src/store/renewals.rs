//! The `renewals` collection: one record per renewal of an endorsement for
//! a cycle (or per reinstatement), written in one transaction with the
//! endorsement it extends and its audit record; and `renewal_audits`, one
//! draw per association and cycle, with the seed it was drawn from.

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::endorsements::{EndorsementDocument, StatusChange};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::EndorsementStatus;

pub const COLLECTION: &str = "renewals";
pub const AUDITS: &str = "renewal_audits";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RenewalKind {
    /// Renewed by attestation in the cycle's window.
    Renewal,
    /// Reinstated after a lapse.
    Reinstatement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditOutcome {
    Passed,
    Failed,
}

/// What the endorsee attested when filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    pub training_entered: bool,
    pub rsc_entered: bool,
    pub agreement_signed: bool,
    pub membership_current: bool,
}

/// A renewal's place in an audit: selected by a draw, then decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalAudit {
    pub draw_id: ObjectId,
    pub selected_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuditOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub endorsement_id: ObjectId,
    pub portfolio_id: ObjectId,
    /// The endorsee's token subject.
    pub subject: String,
    pub kind: RenewalKind,
    /// The deadline of the cycle renewed (reinstated: of the cycle it is
    /// current through again).
    pub cycle_ends: NaiveDate,
    /// What the endorsement is current through from now on.
    pub current_through: NaiveDate,
    pub filed_on: NaiveDate,
    pub filed_at: DateTime,
    pub attestation: Attestation,
    /// The rules it was evaluated against (e.g.
    /// "nys-aimh@renewal:2025-01-01..2027-12-31").
    pub rules: String,
    /// Of the cycle's years, how many were owed (proration).
    pub owed_years: u32,
    pub cycle_years: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<RenewalAudit>,
}

/// One audit draw: who could be drawn, the seed, and who was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDraw {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub cycle_ends: NaiveDate,
    pub seed: String,
    pub share_percent: u32,
    /// Renewals filed in the window, by id (hex), sorted.
    pub population: Vec<String>,
    /// Drawn from `population` by the seed.
    pub drawn: Vec<String>,
    /// Reinstatements joining this audit, on top of the draw.
    pub reinstated: Vec<String>,
    pub drawn_on: NaiveDate,
    pub drawn_by: String,
    pub at: DateTime,
}

#[derive(Clone)]
pub struct RenewalStore {
    store: Store,
    association: AssociationCode,
    renewals: Collection<RenewalDocument>,
    draws: Collection<AuditDraw>,
    endorsements: Collection<EndorsementDocument>,
    audit: Collection<Identified>,
}

impl RenewalStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        RenewalStore {
            store: store.clone(),
            association: association.clone(),
            renewals: db.collection(COLLECTION),
            draws: db.collection(AUDITS),
            endorsements: db.collection(super::endorsements::COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let renewals = store.database().collection::<Document>(COLLECTION);
        // One renewal of an endorsement per cycle, one reinstatement per
        // cycle it is reinstated into: a second filing is a duplicate key.
        let once = IndexModel::builder()
            .keys(doc! { "endorsementId": 1, "kind": 1, "cycleEnds": 1 })
            .options(IndexOptions::builder().name("renewal_once".to_owned()).unique(true).build())
            .build();
        let by_cycle = IndexModel::builder()
            .keys(doc! { "association": 1, "kind": 1, "cycleEnds": 1 })
            .options(IndexOptions::builder().name("renewal_cycle".to_owned()).build())
            .build();
        renewals.create_indexes([once, by_cycle]).await?;
        let draws = store.database().collection::<Document>(AUDITS);
        let one_draw = IndexModel::builder()
            .keys(doc! { "association": 1, "cycleEnds": 1 })
            .options(IndexOptions::builder().name("renewal_audit_once".to_owned()).unique(true).build())
            .build();
        draws.create_index(one_draw).await?;
        // The deadline sweep: current endorsements past their cycle.
        let endorsements = store.database().collection::<Document>(super::endorsements::COLLECTION);
        let due = IndexModel::builder()
            .keys(doc! { "status": 1, "currentThrough": 1 })
            .options(IndexOptions::builder().name("endorsement_deadline".to_owned()).build())
            .build();
        endorsements.create_index(due).await?;
        Ok(())
    }

    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<RenewalDocument>, StoreError> {
        Ok(self.renewals.find_one(self.tenant(doc! { "_id": id })).await?)
    }

    /// Every renewal and reinstatement of an endorsement, oldest first.
    pub async fn of_endorsement(&self, endorsement_id: ObjectId) -> Result<Vec<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! { "endorsementId": endorsement_id });
        Ok(self.renewals.find(filter).sort(doc! { "filedAt": 1 }).await?.try_collect().await?)
    }

    /// Files `renewal` and moves its endorsement (still as `endorsement`
    /// was read) to `renewal.current_through`, CURRENT, with `change` in
    /// its history when its status changes (a reinstatement); all in one
    /// transaction with `record`. `None` when the endorsement changed
    /// meanwhile; a second filing for the cycle is a duplicate key.
    pub async fn file_audited(
        &self,
        renewal: &RenewalDocument,
        endorsement: &EndorsementDocument,
        change: Option<&StatusChange>,
        record: &AuditRecord,
    ) -> Result<Option<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! {
            "_id": endorsement.id,
            "status": endorsement.status.as_str(),
            "currentThrough": endorsement.current_through.to_string(),
        });
        let mut set = doc! { "currentThrough": renewal.current_through.to_string() };
        let mut update = Document::new();
        if let Some(change) = change {
            set.insert("status", change.status.as_str());
            let change = mongodb::bson::to_bson(change).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            update.insert("$push", doc! { "history": change });
        }
        update.insert("$set", set);
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let moved = self.endorsements.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            if moved.modified_count != 1 {
                return Ok((None, false));
            }
            self.renewals.insert_one(renewal).session(&mut *session).await?;
            Ok((Some(renewal.clone()), true))
        }
        .await)
    }

    /// The draw of the cycle ending `cycle_ends`, if made.
    pub async fn draw_of(&self, cycle_ends: NaiveDate) -> Result<Option<AuditDraw>, StoreError> {
        Ok(self.draws.find_one(self.tenant(doc! { "cycleEnds": cycle_ends.to_string() })).await?)
    }

    /// Renewals filed for the cycle ending `cycle_ends`, by id.
    pub async fn filed_for(&self, cycle_ends: NaiveDate) -> Result<Vec<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! { "kind": "RENEWAL", "cycleEnds": cycle_ends.to_string() });
        Ok(self.renewals.find(filter).sort(doc! { "_id": 1 }).await?.try_collect().await?)
    }

    /// Reinstatements not yet in any audit, filed on or before `until`.
    pub async fn reinstated_unaudited(&self, until: NaiveDate) -> Result<Vec<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! {
            "kind": "REINSTATEMENT",
            "audit": { "$exists": false },
            "filedOn": { "$lte": until.to_string() },
        });
        Ok(self.renewals.find(filter).sort(doc! { "_id": 1 }).await?.try_collect().await?)
    }

    /// Stores `draw` and marks every renewal it selects, with `record`,
    /// in one transaction; `false` when the cycle was drawn meanwhile.
    pub async fn draw_audited(&self, draw: &AuditDraw, record: &AuditRecord) -> Result<bool, StoreError> {
        let selected: Vec<ObjectId> =
            draw.drawn.iter().chain(&draw.reinstated).filter_map(|id| ObjectId::parse_str(id).ok()).collect();
        let audit = RenewalAudit {
            draw_id: draw.id,
            selected_on: draw.drawn_on,
            outcome: None,
            note: None,
            decided_by: None,
            decided_on: None,
        };
        let audit = mongodb::bson::to_bson(&audit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let filter = self.tenant(doc! { "_id": { "$in": &selected }, "audit": { "$exists": false } });
        let update = doc! { "$set": { "audit": audit } };
        let stored = in_transaction!(&self.store, &self.audit, record, |session| async {
            self.draws.insert_one(draw).session(&mut *session).await?;
            self.renewals.update_many(filter.clone(), update.clone()).session(&mut *session).await?;
            Ok(((), true))
        }
        .await);
        match stored {
            Ok(()) => Ok(true),
            Err(StoreError::Duplicate(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Records the outcome of an audited renewal not yet decided, and
    /// (a failed audit) the endorsement's lapse, with `record`.
    pub async fn decide_audit_audited(
        &self,
        renewal: &RenewalDocument,
        decided: &RenewalAudit,
        lapse: Option<&StatusChange>,
        record: &AuditRecord,
    ) -> Result<Option<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! { "_id": renewal.id, "audit.drawId": decided.draw_id, "audit.outcome": null });
        let decided_bson = mongodb::bson::to_bson(decided).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = doc! { "$set": { "audit": decided_bson } };
        let lapse_update = match lapse {
            Some(change) => {
                let bson = mongodb::bson::to_bson(change).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Some(doc! { "$set": { "status": change.status.as_str() }, "$push": { "history": bson } })
            }
            None => None,
        };
        let endorsement_filter = self.tenant(doc! {
            "_id": renewal.endorsement_id,
            "status": { "$in": [EndorsementStatus::Current.as_str(), EndorsementStatus::Inactive.as_str()] },
        });
        let decided = in_transaction!(&self.store, &self.audit, record, |session| async {
            let set = self.renewals.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            if set.modified_count != 1 {
                return Ok((false, false));
            }
            if let Some(lapse_update) = &lapse_update {
                self.endorsements
                    .update_one(endorsement_filter.clone(), lapse_update.clone())
                    .session(&mut *session)
                    .await?;
            }
            Ok((true, true))
        }
        .await)?;
        if !decided {
            return Ok(None);
        }
        self.get(renewal.id).await
    }

    /// Audited renewals awaiting an outcome, oldest first (the reviewers'
    /// queue).
    pub async fn awaiting_audit(&self) -> Result<Vec<RenewalDocument>, StoreError> {
        let filter = self.tenant(doc! { "audit.drawId": { "$exists": true }, "audit.outcome": null });
        Ok(self.renewals.find(filter).sort(doc! { "_id": 1 }).await?.try_collect().await?)
    }
}

impl RenewalStore {
    /// Current endorsements here whose cycle ended before `today`, then
    /// inactive ones that were made inactive on or before `inactive_by`
    /// (the sweep checks their latest change), at most `limit` of each.
    pub async fn past_deadline_or_inactive(
        &self,
        today: NaiveDate,
        inactive_by: NaiveDate,
        limit: i64,
    ) -> Result<Vec<EndorsementDocument>, StoreError> {
        let past = self.tenant(doc! {
            "status": EndorsementStatus::Current.as_str(),
            "currentThrough": { "$lt": today.to_string() },
        });
        let mut found: Vec<EndorsementDocument> =
            self.endorsements.find(past).limit(limit).await?.try_collect().await?;
        let inactive = self.tenant(doc! {
            "status": EndorsementStatus::Inactive.as_str(),
            "history": { "$elemMatch": {
                "status": EndorsementStatus::Inactive.as_str(),
                "on": { "$lte": inactive_by.to_string() },
            } },
        });
        found.extend(self.endorsements.find(inactive).limit(limit).await?.try_collect::<Vec<_>>().await?);
        Ok(found)
    }

    /// Lapses `endorsement` (still `from`) with `change`, and `record`
    /// with the mail it carries; whether it lapsed here.
    pub async fn lapse_audited(
        &self,
        endorsement: &EndorsementDocument,
        change: &StatusChange,
        record: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let filter = self.tenant(doc! {
            "_id": endorsement.id,
            "status": endorsement.status.as_str(),
            "currentThrough": endorsement.current_through.to_string(),
        });
        let bson = mongodb::bson::to_bson(change).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = doc! { "$set": { "status": change.status.as_str() }, "$push": { "history": bson } };
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let moved = self.endorsements.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            let lapsed = moved.modified_count == 1;
            Ok((lapsed, lapsed))
        }
        .await)
    }

    fn not_reminded(&self, cycle_ends: NaiveDate, due_on: NaiveDate) -> Document {
        self.tenant(doc! {
            "status": EndorsementStatus::Current.as_str(),
            "currentThrough": cycle_ends.to_string(),
            "$nor": [{ "lastReminder.cycleEnds": cycle_ends.to_string(), "lastReminder.dueOn": { "$gte": due_on.to_string() } }],
        })
    }

    /// Current endorsements of the cycle ending `cycle_ends` not yet sent
    /// the reminder due on `due_on` (or a later one), at most `limit`.
    pub async fn to_remind(
        &self,
        cycle_ends: NaiveDate,
        due_on: NaiveDate,
        limit: i64,
    ) -> Result<Vec<EndorsementDocument>, StoreError> {
        let filter = self.not_reminded(cycle_ends, due_on);
        Ok(self.endorsements.find(filter).sort(doc! { "_id": 1 }).limit(limit).await?.try_collect().await?)
    }

    /// Notes the reminder due on `due_on` as sent to `endorsement` and
    /// queues `mail`, once across instances; whether it was queued here.
    pub async fn remind(
        &self,
        endorsement: &EndorsementDocument,
        cycle_ends: NaiveDate,
        due_on: NaiveDate,
        mail: &super::outbox::OutboxMessage,
    ) -> Result<bool, StoreError> {
        let mut filter = self.not_reminded(cycle_ends, due_on);
        filter.insert("_id", endorsement.id);
        let update =
            doc! { "$set": { "lastReminder": { "cycleEnds": cycle_ends.to_string(), "dueOn": due_on.to_string() } } };
        let outbox = super::outbox::Outbox::new(&self.store);
        super::unaudited_transaction!(&self.store, |session| async {
            let noted = self.endorsements.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            if noted.matched_count == 1 {
                outbox.queue_in(session, std::slice::from_ref(mail)).await?;
            }
            Ok(noted.matched_count == 1)
        }
        .await)
    }
}
