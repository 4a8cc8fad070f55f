//! The `associations` collection (one document per tenant, `_id` = its
//! code) and `rulebooks` (every published revision of an association's
//! rulebook, kept for ever: the one in force on a past day must stay
//! readable).

use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::{AssociationCode, AssociationSettings};
use crate::domain::model::{Language, MailKind};
use crate::mail::templates::TemplateSource;

pub const COLLECTION: &str = "associations";
pub const RULEBOOKS: &str = "rulebooks";
pub const REFERENCE_FORMS: &str = "reference_forms";
pub const MAIL_TEMPLATES: &str = "mail_templates";

/// One published revision of an association's template for one kind of
/// mail in one language, numbered from 1 per kind and language and kept
/// for ever (what was sent can be traced to the words it was sent with).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailTemplateRevision {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub kind: MailKind,
    pub language: Language,
    pub revision: i32,
    /// `None`: the association went back to the built-in template.
    #[serde(default)]
    pub source: Option<TemplateSource>,
    pub published_at: DateTime,
    pub published_by: String,
}

/// One published revision of an association's reference rating form,
/// numbered from 1 and kept for ever: a request is answered on the
/// revision it was sent with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceFormRevision {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub revision: i32,
    pub form: crate::domain::reference::ReferenceForm,
    pub published_at: DateTime,
    pub published_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationDocument {
    #[serde(rename = "_id")]
    pub code: AssociationCode,
    pub name: String,
    /// IANA name, checked when written.
    pub time_zone: String,
    #[serde(default)]
    pub settings: AssociationSettings,
    /// Subjects holding ADMIN here besides what their tokens say: the first
    /// admin, named by the platform admin who created the association.
    #[serde(default)]
    pub admins: Vec<String>,
    pub created_at: DateTime,
}

/// One published rulebook of an association: the whole JSON source, as
/// uploaded, numbered from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulebookRevision {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub revision: i32,
    pub source: String,
    pub published_at: DateTime,
    pub published_by: String,
}

#[derive(Clone)]
pub struct AssociationStore {
    store: Store,
    associations: Collection<AssociationDocument>,
    rulebooks: Collection<RulebookRevision>,
    forms: Collection<ReferenceFormRevision>,
    mail_templates: Collection<MailTemplateRevision>,
    audit: Collection<Identified>,
}

impl AssociationStore {
    pub fn new(store: &Store) -> Self {
        let db = store.database();
        AssociationStore {
            store: store.clone(),
            associations: db.collection(COLLECTION),
            rulebooks: db.collection(RULEBOOKS),
            forms: db.collection(REFERENCE_FORMS),
            mail_templates: db.collection(MAIL_TEMPLATES),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder().name("association_revision".to_owned()).unique(true).build();
        let by_revision = IndexModel::builder().keys(doc! { "association": 1, "revision": -1 }).options(unique).build();
        self.rulebooks.create_indexes([by_revision.clone()]).await?;
        self.forms.create_indexes([by_revision]).await?;
        let unique = IndexOptions::builder().name("association_kind_language_revision".to_owned()).unique(true).build();
        let keys = doc! { "association": 1, "kind": 1, "language": 1, "revision": -1 };
        self.mail_templates.create_indexes([IndexModel::builder().keys(keys).options(unique).build()]).await?;
        Ok(())
    }

    pub async fn get(&self, code: &AssociationCode) -> Result<Option<AssociationDocument>, StoreError> {
        Ok(self.associations.find_one(doc! { "_id": code.as_str() }).await?)
    }

    /// Every association, by code.
    pub async fn list(&self) -> Result<Vec<AssociationDocument>, StoreError> {
        Ok(self.associations.find(Document::new()).sort(doc! { "_id": 1 }).await?.try_collect().await?)
    }

    /// A new association and its audit record; CONFLICT (duplicate) when
    /// the code is taken.
    pub async fn create_audited(&self, document: &AssociationDocument, record: &AuditRecord) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.associations.insert_one(document).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// Replaces the association's settings, with the audit record.
    pub async fn set_settings_audited(
        &self,
        code: &AssociationCode,
        settings: &crate::domain::association::AssociationSettings,
        record: &AuditRecord,
    ) -> Result<Option<AssociationDocument>, StoreError> {
        let settings = mongodb::bson::to_bson(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (filter, update) = (doc! { "_id": code.as_str() }, doc! { "$set": { "settings": settings } });
        super::update_one_audited(&self.store, &self.audit, &self.associations, filter, update, record).await
    }

    /// Creates the association unless it exists (start-up, demo data);
    /// whether it was created.
    pub async fn ensure(&self, document: &AssociationDocument) -> Result<bool, StoreError> {
        match self.associations.insert_one(document).await.map_err(StoreError::from) {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The number of the latest published rulebook of `code`, if any was
    /// published (the source is not read).
    pub async fn latest_rulebook_revision(&self, code: &AssociationCode) -> Result<Option<i32>, StoreError> {
        let latest = self
            .rulebooks
            .clone_with_type::<Document>()
            .find_one(doc! { "association": code.as_str() })
            .sort(doc! { "revision": -1 })
            .projection(doc! { "_id": 0, "revision": 1 })
            .await?;
        Ok(latest.and_then(|row| row.get_i32("revision").ok()))
    }

    /// One published rulebook of `code`.
    pub async fn rulebook_revision(
        &self,
        code: &AssociationCode,
        revision: i32,
    ) -> Result<Option<RulebookRevision>, StoreError> {
        Ok(self.rulebooks.find_one(doc! { "association": code.as_str(), "revision": revision }).await?)
    }

    /// Stores `revision` and its audit record. Two publications racing for
    /// one revision number meet the unique index: the loser gets a
    /// duplicate (CONFLICT) and publishes nothing.
    pub async fn publish_rulebook_audited(
        &self,
        revision: &RulebookRevision,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.rulebooks.insert_one(revision).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// The latest published reference form of `code`, if any.
    pub async fn latest_reference_form(
        &self,
        code: &AssociationCode,
    ) -> Result<Option<ReferenceFormRevision>, StoreError> {
        Ok(self.forms.find_one(doc! { "association": code.as_str() }).sort(doc! { "revision": -1 }).await?)
    }

    /// One published reference form of `code`.
    pub async fn reference_form(
        &self,
        code: &AssociationCode,
        revision: i32,
    ) -> Result<Option<ReferenceFormRevision>, StoreError> {
        Ok(self.forms.find_one(doc! { "association": code.as_str(), "revision": revision }).await?)
    }

    /// Stores a form revision without an audit record (demo data); a
    /// revision that exists is left as it is.
    pub async fn insert_reference_form(&self, revision: &ReferenceFormRevision) -> Result<(), StoreError> {
        match self.forms.insert_one(revision).await.map_err(StoreError::from) {
            Ok(_) | Err(StoreError::Duplicate(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Stores a form revision and its audit record; a race for one
    /// revision number is a duplicate (CONFLICT) for the loser.
    pub async fn publish_reference_form_audited(
        &self,
        revision: &ReferenceFormRevision,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.forms.insert_one(revision).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// The latest revision of each of `code`'s mail templates (kind and
    /// language) it ever published.
    pub async fn latest_mail_templates(&self, code: &AssociationCode) -> Result<Vec<MailTemplateRevision>, StoreError> {
        // Few revisions per association: newest first, the first of each
        // kind and language wins.
        let all: Vec<MailTemplateRevision> = self
            .mail_templates
            .find(doc! { "association": code.as_str() })
            .sort(doc! { "revision": -1 })
            .await?
            .try_collect()
            .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(all.into_iter().filter(|revision| seen.insert((revision.kind, revision.language))).collect())
    }

    /// Stores a template revision and its audit record; a race for one
    /// revision number is a duplicate (CONFLICT) for the loser.
    pub async fn publish_mail_template_audited(
        &self,
        revision: &MailTemplateRevision,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.mail_templates.insert_one(revision).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }
}
