//! The rulebook file as written. Checks that concern one value run while it is
//! read, so serde_json attaches the line and column to the error.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, de::Error as _};

use super::super::model::{
    Category, Credential, DegreeLevel, EvidenceKind, ReferenceRole, Term, Track, TrainingTopic, WorkKind,
};
use super::{
    Compensation, DegreeRule, Fee, LeadershipRule, PriorEndorsementRule, ReferencesRule, Requirement, RscRule, Rule,
    TrainingRule, WorkRule,
};

/// A vocabulary word, with an error that names the vocabulary
/// ("unknown credential `MHS`").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct W<T>(pub T);

impl<'de, T: Term> Deserialize<'de> for W<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        T::parse(&text).map(W).ok_or_else(|| {
            let expected: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
            D::Error::custom(format!("unknown {} `{text}` (expected one of {})", T::NOUN, expected.join(", ")))
        })
    }
}

pub fn words<T: Copy>(list: &[W<T>]) -> Vec<T> {
    list.iter().map(|w| w.0).collect()
}

impl<'de> Deserialize<'de> for Fee {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let dollars = f64::deserialize(d)?;
        let cents = (dollars * 100.0).round();
        if !dollars.is_finite() || !(0.0..=1_000_000.0).contains(&dollars) || (cents - dollars * 100.0).abs() > 1e-6 {
            return Err(D::Error::custom(format!(
                "fee {dollars} must be dollars between 0 and 1000000 with at most 2 decimals"
            )));
        }
        Ok(Fee { cents: cents as u32 })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRulebook {
    pub association: String,
    pub name: String,
    #[serde(default)]
    pub evidence: RawEvidence,
    pub versions: Vec<RawVersion>,
    pub renewal: Option<super::super::renewal::RawRenewal>,
}

/// Per entry type; a missing key keeps the default, `[]` means "needs none".
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEvidence {
    pub education: Option<Vec<W<EvidenceKind>>>,
    pub training: Option<Vec<W<EvidenceKind>>>,
    pub work: Option<Vec<W<EvidenceKind>>>,
    pub reflective_supervision: Option<Vec<W<EvidenceKind>>>,
    pub agreement: Option<Vec<W<EvidenceKind>>>,
    pub exams: Option<Vec<W<EvidenceKind>>>,
    pub licenses: Option<Vec<W<EvidenceKind>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawVersion {
    pub effective_from: NaiveDate,
    pub extends: Option<NaiveDate>,
    pub tracks: Option<Vec<W<Track>>>,
    pub exam_fee: Option<Fee>,
    #[serde(default)]
    pub categories: Vec<RawCategory>,
    #[serde(default)]
    pub remove_categories: Vec<W<Category>>,
}

/// A full definition (with `requirements`) or, in an extending version, a patch.
#[derive(Deserialize)]
#[serde(try_from = "RawCategoryFields")]
pub struct RawCategory {
    pub category: Category,
    pub title: BTreeMap<Track, String>,
    pub registration_fee: Option<Fee>,
    pub processing_fee: Option<Fee>,
    pub requirements: Option<Vec<Requirement>>,
    pub replace_requirements: Vec<Requirement>,
    pub add_requirements: Vec<Requirement>,
    pub remove_requirements: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCategoryFields {
    category: W<Category>,
    #[serde(default)]
    title: BTreeMap<W<Track>, String>,
    registration_fee: Option<Fee>,
    processing_fee: Option<Fee>,
    requirements: Option<Vec<Requirement>>,
    #[serde(default)]
    replace_requirements: Vec<Requirement>,
    #[serde(default)]
    add_requirements: Vec<Requirement>,
    #[serde(default)]
    remove_requirements: Vec<String>,
}

impl TryFrom<RawCategoryFields> for RawCategory {
    type Error = String;

    fn try_from(raw: RawCategoryFields) -> Result<Self, String> {
        let category = raw.category.0;
        let patching = !raw.replace_requirements.is_empty()
            || !raw.add_requirements.is_empty()
            || !raw.remove_requirements.is_empty();
        if let Some(requirements) = &raw.requirements {
            if patching {
                return Err(format!(
                    "category {category}: `requirements` defines the whole tree; \
                     it cannot be combined with replaceRequirements/addRequirements/removeRequirements"
                ));
            }
            if requirements.is_empty() {
                return Err(format!("category {category}: `requirements` is empty"));
            }
            unique_keys(requirements)
                .map_err(|key| format!("category {category}: duplicate requirement key `{key}`"))?;
        }
        for (track, title) in &raw.title {
            if title.trim().is_empty() {
                return Err(format!("category {category}: empty title for {}", track.0));
            }
        }
        Ok(RawCategory {
            category,
            title: raw.title.into_iter().map(|(k, v)| (k.0, v)).collect(),
            registration_fee: raw.registration_fee,
            processing_fee: raw.processing_fee,
            requirements: raw.requirements,
            replace_requirements: raw.replace_requirements,
            add_requirements: raw.add_requirements,
            remove_requirements: raw.remove_requirements,
        })
    }
}

/// Ok, or the first key that appears twice in the forest.
pub fn unique_keys(reqs: &[Requirement]) -> Result<(), String> {
    fn walk<'a>(reqs: &'a [Requirement], seen: &mut HashSet<&'a str>) -> Result<(), String> {
        for r in reqs {
            if !seen.insert(&r.key) {
                return Err(r.key.to_string());
            }
            if let Rule::AllOf(children) | Rule::AnyOf(children) = &r.rule {
                walk(children, seen)?;
            }
        }
        Ok(())
    }
    walk(reqs, &mut HashSet::new())
}

impl<'de> Deserialize<'de> for Requirement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawRequirement::deserialize(d)?.check().map_err(D::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRequirement {
    key: String,
    title: String,
    description: Option<String>,
    #[serde(default)]
    optional: bool,
    all_of: Option<Vec<Requirement>>,
    any_of: Option<Vec<Requirement>>,
    degree: Option<RawDegree>,
    training_hours: Option<RawTraining>,
    work_experience: Option<RawWork>,
    reflective_supervision: Option<RawRsc>,
    references: Option<RawReferences>,
    leadership: Option<RawLeadership>,
    prior_endorsement: Option<RawPrior>,
    agreement: Option<Empty>,
    membership: Option<Empty>,
    exam: Option<Empty>,
}

/// Primitives without parameters are written `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

const KINDS: &str = "allOf, anyOf, degree, trainingHours, workExperience, reflectiveSupervision, \
                     references, leadership, priorEndorsement, agreement, membership or exam";

impl RawRequirement {
    fn check(self) -> Result<Requirement, String> {
        let key = self.key;
        let valid_key = !key.is_empty()
            && key.len() <= 80
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid_key {
            return Err(format!("requirement key `{key}` must be 1-80 characters of a-z, 0-9, '.', '_' or '-'"));
        }
        if self.title.trim().is_empty() {
            return Err(format!("requirement `{key}`: empty title"));
        }
        let mut rules: Vec<Result<Rule, String>> = Vec::with_capacity(1);
        if let Some(children) = self.all_of {
            rules.push(group("allOf", children).map(Rule::AllOf));
        }
        if let Some(children) = self.any_of {
            rules.push(group("anyOf", children).map(Rule::AnyOf));
        }
        if let Some(p) = self.degree {
            rules.push(p.check().map(Rule::Degree));
        }
        if let Some(p) = self.training_hours {
            rules.push(p.check().map(Rule::TrainingHours));
        }
        if let Some(p) = self.work_experience {
            rules.push(p.check().map(Rule::WorkExperience));
        }
        if let Some(p) = self.reflective_supervision {
            rules.push(p.check().map(Rule::ReflectiveSupervision));
        }
        if let Some(p) = self.references {
            rules.push(p.check().map(Rule::References));
        }
        if let Some(p) = self.leadership {
            rules.push(p.check().map(Rule::Leadership));
        }
        if let Some(p) = self.prior_endorsement {
            rules.push(p.check().map(Rule::PriorEndorsement));
        }
        if self.agreement.is_some() {
            rules.push(Ok(Rule::Agreement));
        }
        if self.membership.is_some() {
            rules.push(Ok(Rule::Membership));
        }
        if self.exam.is_some() {
            rules.push(Ok(Rule::Exam));
        }
        if rules.len() != 1 {
            return Err(format!("requirement `{key}` must have exactly one of {KINDS} (found {})", rules.len()));
        }
        let rule = rules.pop().expect("one rule").map_err(|problem| format!("requirement `{key}`: {problem}"))?;
        Ok(Requirement {
            key: key.into(),
            title: self.title.into(),
            description: self.description,
            optional: self.optional,
            rule,
        })
    }
}

fn group(kind: &str, children: Vec<Requirement>) -> Result<Vec<Requirement>, String> {
    check_group(kind, &children)?;
    Ok(children)
}

/// A group needs a child that counts: allOf/anyOf of only optional parts is a mistake.
pub fn check_group(kind: &str, children: &[Requirement]) -> Result<(), String> {
    if children.iter().all(|c| c.optional) {
        return Err(format!("{kind} needs at least one non-optional requirement"));
    }
    Ok(())
}

fn positive(name: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() && value > 0.0 && value <= 100_000.0 {
        Ok(value)
    } else {
        Err(format!("{name} must be a number above 0 (got {value})"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDegree {
    min_level: Option<W<DegreeLevel>>,
    levels: Option<Vec<W<DegreeLevel>>>,
    #[serde(default)]
    related_field: bool,
    #[serde(default)]
    or_license: bool,
}

impl RawDegree {
    fn check(self) -> Result<DegreeRule, String> {
        let mut levels = match (self.min_level, self.levels) {
            (Some(min), None) => DegreeLevel::ALL.iter().copied().filter(|l| *l >= min.0).collect(),
            (None, Some(list)) if !list.is_empty() => words(&list),
            _ => {
                return Err("degree needs exactly one of `minLevel` or a non-empty `levels`".into());
            }
        };
        levels.sort();
        levels.dedup();
        Ok(DegreeRule { levels, related_field: self.related_field, or_license: self.or_license })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTraining {
    min_hours: f64,
    #[serde(default)]
    topics: BTreeMap<W<TrainingTopic>, f64>,
    look_back_months: Option<u32>,
}

impl RawTraining {
    fn check(self) -> Result<TrainingRule, String> {
        let min_hours = positive("minHours", self.min_hours)?;
        let mut topic_minimums = Vec::with_capacity(self.topics.len());
        for (topic, hours) in self.topics {
            let hours = positive(&format!("topics.{}", topic.0), hours)?;
            if hours > min_hours {
                return Err(format!("topic minimum {} for {} exceeds minHours {min_hours}", hours, topic.0));
            }
            topic_minimums.push((topic.0, hours));
        }
        if self.look_back_months == Some(0) {
            return Err("lookBackMonths must be at least 1".into());
        }
        Ok(TrainingRule { min_hours, topic_minimums, look_back_months: self.look_back_months })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWork {
    years: f64,
    #[serde(default)]
    kinds: Vec<W<WorkKind>>,
    #[serde(default)]
    compensation: Option<String>,
    #[serde(default)]
    require_supervised: bool,
    post_degree: Option<W<DegreeLevel>>,
}

impl RawWork {
    fn check(self) -> Result<WorkRule, String> {
        let compensation = match self.compensation.as_deref() {
            None | Some("paid") => Compensation::Paid,
            Some("paidOrTrainedVolunteer") => Compensation::PaidOrTrainedVolunteer,
            Some("any") => Compensation::Any,
            Some(other) => {
                return Err(format!("unknown compensation `{other}` (expected paid, paidOrTrainedVolunteer or any)"));
            }
        };
        let mut kinds = words(&self.kinds);
        kinds.sort();
        kinds.dedup();
        Ok(WorkRule {
            years: positive("years", self.years)?,
            kinds,
            compensation,
            require_supervised: self.require_supervised,
            post_degree: self.post_degree.map(|w| w.0),
        })
    }
}

fn twelve() -> u32 {
    12
}

fn twenty_four() -> u32 {
    24
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRsc {
    min_hours: f64,
    providers: Vec<W<Credential>>,
    #[serde(default = "twelve")]
    min_months: u32,
    #[serde(default = "twenty_four")]
    max_months: u32,
    #[serde(default)]
    about_providing_min_hours: f64,
    #[serde(default)]
    about_providing_only: bool,
}

impl RawRsc {
    fn check(self) -> Result<RscRule, String> {
        let min_hours = positive("minHours", self.min_hours)?;
        let mut providers = words(&self.providers);
        providers.sort();
        providers.dedup();
        if providers.is_empty() {
            return Err("providers must list at least one credential".into());
        }
        if providers.contains(&Credential::Peer) || providers.contains(&Credential::None) {
            return Err("PEER and NONE never qualify as RS/C providers".into());
        }
        if self.max_months == 0 || self.min_months > self.max_months {
            return Err(format!(
                "need 0 <= minMonths <= maxMonths and maxMonths >= 1 (got {}..{})",
                self.min_months, self.max_months
            ));
        }
        let about = self.about_providing_min_hours;
        if !(about.is_finite() && (0.0..=min_hours).contains(&about)) {
            return Err(format!("aboutProvidingMinHours must be between 0 and minHours (got {about})"));
        }
        Ok(RscRule {
            min_hours,
            providers,
            min_months: self.min_months,
            max_months: self.max_months,
            about_providing_min_hours: about,
            about_providing_only: self.about_providing_only,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawReferences {
    count: u32,
    #[serde(default)]
    min_level_two: u32,
    #[serde(default)]
    roles: Vec<W<ReferenceRole>>,
    /// Whether a rating that does not recommend the applicant still counts.
    #[serde(default)]
    count_not_recommending: bool,
}

impl RawReferences {
    fn check(self) -> Result<ReferencesRule, String> {
        let roles = words(&self.roles);
        if self.count == 0 || self.min_level_two > self.count || roles.len() > self.count as usize {
            return Err(format!(
                "references need count >= 1, minLevelTwo <= count and at most count roles (got count {}, minLevelTwo {}, {} roles)",
                self.count,
                self.min_level_two,
                roles.len()
            ));
        }
        Ok(ReferencesRule {
            count: self.count,
            min_level_two: self.min_level_two,
            roles,
            count_not_recommending: self.count_not_recommending,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLeadership {
    count: u32,
}

impl RawLeadership {
    fn check(self) -> Result<LeadershipRule, String> {
        if self.count == 0 {
            return Err("leadership count must be at least 1".into());
        }
        Ok(LeadershipRule { count: self.count })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPrior {
    categories: Vec<W<Category>>,
}

impl RawPrior {
    fn check(self) -> Result<PriorEndorsementRule, String> {
        if self.categories.is_empty() {
            return Err("priorEndorsement needs at least one category".into());
        }
        Ok(PriorEndorsementRule { categories: words(&self.categories) })
    }
}
