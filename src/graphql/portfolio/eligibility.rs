//! Output types of requirement evaluation and of the rulebook.

use async_graphql::{ID, Object, SimpleObject};

use crate::domain::model::{Basis, Category, Track};
use crate::domain::{Eligibility, RequirementResult};
use crate::graphql::scalars::Date;

pub struct EligibilityObject(pub std::sync::Arc<Eligibility>);

#[Object(name = "Eligibility")]
impl EligibilityObject {
    async fn category(&self) -> Category {
        self.0.category
    }
    async fn track(&self) -> Track {
        self.0.track
    }
    /// The category's published code on the track, e.g. "IMHS", "ECFS".
    async fn code(&self) -> &str {
        self.0.code
    }
    /// The rulebook version applied, e.g. "nys-aimh@2025-01-01".
    async fn rulebook(&self) -> &str {
        &self.0.rulebook
    }
    async fn as_of(&self) -> Date {
        Date(self.0.as_of)
    }
    async fn basis(&self) -> Basis {
        self.0.basis
    }
    /// Every required top-level requirement is met.
    async fn met(&self) -> bool {
        self.0.met
    }
    /// Flattened requirement tree, a group before its children (`parentKey`).
    async fn requirements(&self) -> Vec<RequirementObject<'_>> {
        self.0.requirements.iter().map(RequirementObject).collect()
    }
    async fn exam_required(&self) -> bool {
        self.0.exam_required
    }
}

pub struct RequirementObject<'a>(&'a RequirementResult);

#[Object(name = "RequirementResult")]
impl RequirementObject<'_> {
    /// Stable key, e.g. "training.hours", "rsc.hours".
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn met(&self) -> bool {
        self.0.met
    }
    /// Shown for information, not needed for `met`.
    async fn optional(&self) -> bool {
        self.0.optional
    }
    async fn progress(&self) -> Option<Progress> {
        self.0.progress.as_ref().map(|p| Progress { current: p.current, required: p.required, unit: p.unit.to_owned() })
    }
    /// One plain sentence a reviewer can read aloud.
    async fn explanation(&self) -> &str {
        &self.0.explanation
    }
    async fn counted_entry_ids(&self) -> Vec<ID> {
        self.0.counted_entry_ids.iter().map(|id| ID(id.to_string())).collect()
    }
    async fn missing(&self) -> &[String] {
        &self.0.missing
    }
    /// Key of the enclosing allOf/anyOf group; null at top level.
    async fn parent_key(&self) -> Option<&str> {
        self.0.parent.as_deref()
    }
}

#[derive(SimpleObject)]
pub struct Progress {
    pub current: f64,
    pub required: f64,
    pub unit: String,
}

#[derive(SimpleObject)]
pub struct CategoryRules {
    pub category: Category,
    pub track: Track,
    pub code: String,
    pub title: String,
    pub requirements: Vec<RequirementRule>,
    /// The rulebook version these rules come from.
    pub rulebook: String,
    /// Fees in US cents (registration, processing; exam paid to the Alliance).
    pub registration_fee_cents: Option<i32>,
    pub processing_fee_cents: Option<i32>,
    pub exam_fee_cents: Option<i32>,
}

#[derive(SimpleObject)]
pub struct RequirementRule {
    pub key: String,
    pub title: String,
    pub optional: bool,
    pub description: String,
    /// Key of the enclosing allOf/anyOf group; null at top level.
    pub parent_key: Option<String>,
}
