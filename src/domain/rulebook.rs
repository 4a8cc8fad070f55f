//! Rulebooks as data: one JSON file per association (format documented in
//! rulebooks/README.md), parsed and checked here, resolved into self-contained
//! versions so the engine never follows `extends`.

mod describe;
pub(super) mod raw;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::model::{Category, Credential, DegreeLevel, EvidenceKind, ReferenceRole, Track, TrainingTopic, WorkKind};

/// The default rulebook's source, compiled in.
pub const NYS_AIMH_JSON: &str = include_str!("../../rulebooks/nys-aimh.json");

/// An association's rules, every version resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Rulebook {
    /// Stable id, e.g. "nys-aimh".
    pub association: String,
    pub name: String,
    pub evidence: EvidencePolicy,
    /// Ordered by `effective_from`, strictly increasing.
    pub versions: Vec<RulebookVersion>,
    /// Its renewal cycles and requirements; `None` where the file has none
    /// (NYS-AIMH's then apply: [`super::renewal::nys_aimh`]).
    pub renewal: Option<super::renewal::RenewalRules>,
}

/// Which evidence kinds make an entry count under basis VERIFIED. An empty
/// list means the entry type needs no evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePolicy {
    pub education: Vec<EvidenceKind>,
    pub training: Vec<EvidenceKind>,
    pub work: Vec<EvidenceKind>,
    pub reflective_supervision: Vec<EvidenceKind>,
    pub agreement: Vec<EvidenceKind>,
    pub exams: Vec<EvidenceKind>,
    pub licenses: Vec<EvidenceKind>,
}

impl Default for EvidencePolicy {
    /// The defaults of domain.md.
    fn default() -> Self {
        EvidencePolicy {
            education: vec![EvidenceKind::Transcript, EvidenceKind::CdaCertificate],
            training: vec![EvidenceKind::TrainingCertificate],
            work: Vec::new(),
            reflective_supervision: Vec::new(),
            agreement: vec![EvidenceKind::EthicsAgreement],
            exams: vec![EvidenceKind::ExamResult],
            licenses: vec![EvidenceKind::License],
        }
    }
}

/// A fee in US cents (rulebooks write dollars: `"processingFee": 100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fee {
    pub cents: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RulebookVersion {
    /// "nys-aimh@2025-01-01".
    pub id: String,
    pub effective_from: NaiveDate,
    pub tracks: Vec<Track>,
    /// Paid to the Alliance for categories with an exam.
    pub exam_fee: Option<Fee>,
    /// In `Category` order.
    pub categories: Vec<CategoryDefinition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryDefinition {
    pub category: Category,
    pub titles: BTreeMap<Track, String>,
    /// None where the association publishes no fee.
    pub registration_fee: Option<Fee>,
    pub processing_fee: Option<Fee>,
    /// Top level of the tree; all non-optional ones must be met.
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Stable, dotted, unique within a category: "training.hours".
    pub key: Arc<str>,
    pub title: Arc<str>,
    /// Overrides the generated description.
    pub description: Option<String>,
    /// Shown for information, not needed for `met`.
    pub optional: bool,
    pub rule: Rule,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    AllOf(Vec<Requirement>),
    AnyOf(Vec<Requirement>),
    Degree(DegreeRule),
    TrainingHours(TrainingRule),
    WorkExperience(WorkRule),
    ReflectiveSupervision(RscRule),
    References(ReferencesRule),
    Leadership(LeadershipRule),
    PriorEndorsement(PriorEndorsementRule),
    Agreement,
    Membership,
    Exam,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegreeRule {
    /// Accepted levels, ascending.
    pub levels: Vec<DegreeLevel>,
    pub related_field: bool,
    /// A licence valid at `asOf` also satisfies the rule.
    pub or_license: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRule {
    pub min_hours: f64,
    /// Hours that must carry a topic (an entry counts for each of its topics).
    pub topic_minimums: Vec<(TrainingTopic, f64)>,
    /// Only training completed in the last N months counts (renewals).
    pub look_back_months: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compensation {
    /// Only paid work.
    Paid,
    /// Paid work, or volunteer work that was supervised AND had specialized training.
    PaidOrTrainedVolunteer,
    /// Paid or not.
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkRule {
    /// N years = N x 365 days of FTE-weighted time.
    pub years: f64,
    /// Empty = any kind.
    pub kinds: Vec<WorkKind>,
    pub compensation: Compensation,
    pub require_supervised: bool,
    /// Only time after the earliest degree of this level or higher counts.
    pub post_degree: Option<DegreeLevel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RscRule {
    pub min_hours: f64,
    /// Qualified provider credentials (never PEER).
    pub providers: Vec<Credential>,
    /// Calendar months from first to last session, inclusive; 0 = no minimum.
    pub min_months: u32,
    pub max_months: u32,
    /// At least this many of the window's hours must be about providing RS/C.
    pub about_providing_min_hours: f64,
    /// Only sessions about providing RS/C count at all.
    pub about_providing_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencesRule {
    pub count: u32,
    /// Valid ratings from raters endorsed at Level II or above.
    pub min_level_two: u32,
    /// One distinct valid rating per listed role.
    pub roles: Vec<ReferenceRole>,
    /// A rating that does not recommend the applicant is flagged to
    /// reviewers; by default it does not count toward `count` either.
    pub count_not_recommending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadershipRule {
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorEndorsementRule {
    pub categories: Vec<Category>,
}

/// One requirement as the `rulebook` query shows it (pre-order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    pub key: String,
    pub title: String,
    pub optional: bool,
    pub description: String,
    /// Key of the enclosing allOf/anyOf; None at top level.
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulebookError {
    /// Syntax or a check made while reading a value.
    #[error("{source_name}:{line}:{column}: {message}")]
    At { source_name: String, line: usize, column: usize, message: String },
    /// A check across values, located by JSON path.
    #[error("{source_name}: {path}: {message}")]
    Path { source_name: String, path: String, message: String },
}

/// No version of a rulebook is in force on a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no version of rulebook {association} is in force on {as_of} (the earliest takes effect {earliest})")]
pub struct NotInForce {
    pub association: String,
    pub as_of: NaiveDate,
    pub earliest: NaiveDate,
}

impl Rulebook {
    /// Parses and checks a rulebook; `source_name` (e.g. "rulebooks/ct-aimh.json")
    /// prefixes every error.
    pub fn from_json(source_name: &str, text: &str) -> Result<Rulebook, RulebookError> {
        let raw: raw::RawRulebook = serde_json::from_str(text).map_err(|e| located(source_name, &e))?;
        resolve::resolve(source_name, raw)
    }

    /// The built-in NYS-AIMH rulebook (parsed on each call: cache it).
    pub fn nys_aimh() -> Rulebook {
        Rulebook::from_json("rulebooks/nys-aimh.json", NYS_AIMH_JSON)
            .expect("the built-in rulebook is checked by the tests")
    }

    /// The version in force on `as_of`: the latest with effective_from <= as_of.
    pub fn version_at(&self, as_of: NaiveDate) -> Option<&RulebookVersion> {
        self.versions.iter().rev().find(|v| v.effective_from <= as_of)
    }

    /// [`Rulebook::version_at`], or why there is none: the one answer to
    /// "which rules on which date" that every caller uses.
    pub fn in_force(&self, as_of: NaiveDate) -> Result<&RulebookVersion, NotInForce> {
        self.version_at(as_of).ok_or_else(|| NotInForce {
            association: self.association.clone(),
            as_of,
            earliest: self.versions.first().map_or(as_of, |v| v.effective_from),
        })
    }

    /// Whether approving a portfolio of `category` submitted (or judged) on
    /// `as_of` leads to the exam: the rule in force on that day says so.
    pub fn exam_required(&self, category: Category, as_of: NaiveDate) -> bool {
        self.version_at(as_of).and_then(|version| version.category(category)).is_some_and(|c| c.exam_required())
    }

    /// A version by its id ("nys-aimh@2017-01-01").
    pub fn version(&self, id: &str) -> Option<&RulebookVersion> {
        self.versions.iter().find(|v| v.id == id)
    }
}

impl RulebookVersion {
    pub fn offers(&self, track: Track) -> bool {
        self.tracks.contains(&track)
    }

    pub fn category(&self, category: Category) -> Option<&CategoryDefinition> {
        self.categories.iter().find(|c| c.category == category)
    }
}

impl CategoryDefinition {
    /// The title on `track` (falls back to any title).
    pub fn title(&self, track: Track) -> &str {
        self.titles.get(&track).or_else(|| self.titles.values().next()).map_or("", String::as_str)
    }

    /// The tree holds a non-optional exam reachable through non-optional nodes.
    pub fn exam_required(&self) -> bool {
        fn any_exam(reqs: &[Requirement]) -> bool {
            reqs.iter().any(|r| {
                !r.optional
                    && match &r.rule {
                        Rule::Exam => true,
                        Rule::AllOf(children) | Rule::AnyOf(children) => any_exam(children),
                        _ => false,
                    }
            })
        }
        any_exam(&self.requirements)
    }

    /// Every requirement, flattened pre-order (group first, then its children).
    pub fn rules(&self) -> Vec<RuleSummary> {
        fn walk(reqs: &[Requirement], parent: Option<&str>, out: &mut Vec<RuleSummary>) {
            for r in reqs {
                out.push(RuleSummary {
                    key: r.key.to_string(),
                    title: r.title.to_string(),
                    optional: r.optional,
                    description: r.describe(),
                    parent: parent.map(str::to_owned),
                });
                if let Rule::AllOf(children) | Rule::AnyOf(children) = &r.rule {
                    walk(children, Some(&r.key), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.requirements, None, &mut out);
        out
    }
}

impl Requirement {
    /// The rulebook's description, or one generated from the parameters.
    pub fn describe(&self) -> String {
        match &self.description {
            Some(text) => text.clone(),
            None => describe::describe(self),
        }
    }
}

fn located(source_name: &str, e: &serde_json::Error) -> RulebookError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    RulebookError::At { source_name: source_name.to_owned(), line: e.line(), column: e.column(), message }
}
