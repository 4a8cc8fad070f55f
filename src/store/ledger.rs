//! The `ledger` collection: an applicant's charges and what was paid,
//! waived and refunded against each, one document per line, never edited.
//! A charge carries a key unique per portfolio and fee, so a fee is
//! charged once however often submission is asked for; a provider's
//! payment carries the provider's event id, so an event delivered twice is
//! recorded once. Movements against a charge are checked and written in a
//! transaction that also bumps the charge, so two at once are serialised
//! and neither can take the balance past what the rules allow.

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::fees::{ChargeBalance, LedgerRefusal, Money, Movement};
use crate::domain::model::{Category, FeeKind, LedgerEntryKind};

pub const COLLECTION: &str = "ledger";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    /// Whose account: the portfolio owner's subject.
    pub owner_id: String,
    pub portfolio_id: ObjectId,
    pub kind: LedgerEntryKind,
    pub fee: FeeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// The charge a payment, waiver or refund is against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<ObjectId>,
    pub amount: Money,
    /// Of a charge: whether staff may refund it.
    #[serde(default)]
    pub refundable: bool,
    /// The association's calendar day it happened (a payment: received).
    pub on: NaiveDate,
    pub at: DateTime,
    /// Who recorded it (a staff subject, or the payment provider).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A cheque number, a provider's payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Unique within the association (see the module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Bumped by every movement against this charge (see the module).
    #[serde(default)]
    pub movements: i32,
}

impl LedgerEntry {
    /// The movement this line makes against its charge (none for a charge).
    pub fn movement(&self) -> Option<Movement> {
        let cents = self.amount.cents;
        match self.kind {
            LedgerEntryKind::Charge => None,
            LedgerEntryKind::Payment => Some(Movement::Payment(cents)),
            LedgerEntryKind::Waiver => Some(Movement::Waiver(cents)),
            LedgerEntryKind::Refund => Some(Movement::Refund(cents)),
        }
    }
}

/// The key that makes a fee chargeable once per portfolio.
pub fn charge_key(portfolio_id: ObjectId, fee: FeeKind) -> String {
    format!("charge:{}:{}", portfolio_id.to_hex(), fee.as_str())
}

/// The key that makes a provider's event count once.
pub fn event_key(event_id: &str) -> String {
    format!("provider-event:{event_id}")
}

/// Where a charge stands after its movements.
pub fn balance(charge: &LedgerEntry, lines: &[LedgerEntry]) -> ChargeBalance {
    let mut balance = ChargeBalance::new(charge.amount.cents);
    lines
        .iter()
        .filter(|line| line.charge_id == Some(charge.id))
        .filter_map(LedgerEntry::movement)
        .for_each(|movement| balance.apply(movement));
    balance
}

/// What recording a movement came to.
#[derive(Debug)]
pub enum Recorded {
    /// Written; the charge's balance after it.
    Done(ChargeBalance),
    /// A line with the same key exists (an event seen before).
    Already,
    Refused(LedgerRefusal),
    NoSuchCharge,
}

#[derive(Clone)]
pub struct LedgerStore {
    store: Store,
    association: AssociationCode,
    ledger: Collection<LedgerEntry>,
    audit: Collection<Identified>,
}

impl LedgerStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        LedgerStore {
            store: store.clone(),
            association: association.clone(),
            ledger: db.collection(COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let ledger = store.database().collection::<Document>(COLLECTION);
        let by_key = IndexModel::builder()
            .keys(doc! { "association": 1, "key": 1 })
            .options(
                IndexOptions::builder()
                    .name("ledger_key".to_owned())
                    .unique(true)
                    .partial_filter_expression(doc! { "key": { "$exists": true } })
                    .build(),
            )
            .build();
        let by_portfolio = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1, "at": 1 })
            .options(IndexOptions::builder().name("ledger_portfolio".to_owned()).build())
            .build();
        ledger.create_indexes([by_key, by_portfolio]).await?;
        Ok(())
    }

    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    /// Every line of a portfolio's account, oldest first.
    pub async fn for_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<LedgerEntry>, StoreError> {
        let lines = self
            .ledger
            .find(self.tenant(doc! { "portfolioId": portfolio_id }))
            .sort(doc! { "at": 1, "_id": 1 })
            .await?;
        Ok(lines.try_collect().await?)
    }

    /// Every line of the association's ledger (reports).
    pub async fn all(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(self.ledger.find(self.tenant(Document::new())).await?.try_collect().await?)
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self.ledger.find_one(self.tenant(doc! { "_id": id })).await?)
    }

    pub async fn by_key(&self, key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self.ledger.find_one(self.tenant(doc! { "key": key })).await?)
    }

    /// Writes `charge` unless its key was charged already; the charge in
    /// force either way, and whether it is new.
    pub async fn charge_once_audited(
        &self,
        charge: &LedgerEntry,
        record: &AuditRecord,
    ) -> Result<(LedgerEntry, bool), StoreError> {
        let key = charge.key.as_deref().ok_or_else(|| StoreError::Corrupt("a charge without its key".into()))?;
        // No read first: callers look in the account they read anyway, and
        // the unique key settles a race.
        let written = in_transaction!(&self.store, &self.audit, record, |session| async {
            self.ledger.insert_one(charge).session(&mut *session).await?;
            Ok(((), true))
        }
        .await);
        match written {
            Ok(()) => Ok((charge.clone(), true)),
            // Charged by a request racing this one.
            Err(StoreError::Duplicate(_)) => Ok((
                self.by_key(key).await?.ok_or(StoreError::Corrupt("a charge key without its charge".into()))?,
                false,
            )),
            Err(other) => Err(other),
        }
    }

    /// Records `line` against its charge with its audit record, after
    /// `check` accepts it on the charge's balance read in the same
    /// transaction.
    pub async fn record_movement_audited(
        &self,
        line: &LedgerEntry,
        check: impl Fn(&ChargeBalance, Movement, bool) -> Result<(), LedgerRefusal>,
        record: &AuditRecord,
    ) -> Result<Recorded, StoreError> {
        let (Some(charge_id), Some(movement)) = (line.charge_id, line.movement()) else {
            return Err(StoreError::Corrupt("a movement without its charge".into()));
        };
        let check = &check;
        let outcome = in_transaction!(&self.store, &self.audit, record, |session| async {
            let bump = doc! { "$inc": { "movements": 1 } };
            let charge = self
                .ledger
                .find_one_and_update(self.tenant(doc! { "_id": charge_id, "kind": "CHARGE" }), bump)
                .return_document(mongodb::options::ReturnDocument::After)
                .session(&mut *session)
                .await?;
            let Some(charge) = charge else { return Ok((Recorded::NoSuchCharge, false)) };
            let mut lines: Vec<LedgerEntry> = self
                .ledger
                .find(self.tenant(doc! { "chargeId": charge_id }))
                .session(&mut *session)
                .await?
                .stream(&mut *session)
                .try_collect()
                .await?;
            let before = balance(&charge, &lines);
            if let Err(refusal) = check(&before, movement, charge.refundable) {
                return Ok((Recorded::Refused(refusal), false));
            }
            self.ledger.insert_one(line).session(&mut *session).await?;
            lines.push(line.clone());
            Ok((Recorded::Done(balance(&charge, &lines)), true))
        }
        .await);
        match outcome {
            Err(StoreError::Duplicate(_)) if line.key.is_some() => Ok(Recorded::Already),
            other => other,
        }
    }
}
