//! The requirement engine: evaluates a portfolio against a category's
//! requirement tree in the rulebook version in force at `as_of`.

mod checks;
mod context;
mod rsc;
mod work;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::NaiveDate;

use super::model::{Basis, Category, Portfolio, Track};
use super::rulebook::{EvidencePolicy, Requirement, Rule, Rulebook, RulebookVersion};
use super::words::{count, either};
use context::{Ctx, Prepared};

/// An entry id, shared (cheap to clone) between the results of one call.
pub type EntryId = Arc<str>;

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub current: f64,
    pub required: f64,
    /// "hours", "years", "references", "activities", "requirements".
    pub unit: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequirementResult {
    /// Shared with the rulebook (cheap to clone; derefs to `str`).
    pub key: Arc<str>,
    pub title: Arc<str>,
    pub met: bool,
    /// Shown for information, not needed for `met`.
    pub optional: bool,
    pub progress: Option<Progress>,
    /// One plain sentence a reviewer can read aloud.
    pub explanation: String,
    pub counted_entry_ids: Vec<EntryId>,
    /// Concrete gaps: "4.0 more training hours", "a reference from a SUPERVISEE".
    pub missing: Vec<String>,
    /// Key of the enclosing allOf/anyOf; None at top level.
    pub parent: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    pub category: Category,
    pub track: Track,
    /// "IMHS", "ECFS", ...
    pub code: &'static str,
    /// "nys-aimh@2025-01-01".
    pub rulebook: String,
    pub as_of: NaiveDate,
    pub basis: Basis,
    /// Every non-optional top-level requirement is met.
    pub met: bool,
    /// Pre-order: a group first, then its children.
    pub requirements: Vec<RequirementResult>,
    pub exam_required: bool,
}

/// Why a portfolio cannot be evaluated: no rules were in force on the date.
pub type EvaluationError = super::rulebook::NotInForce;

/// Evaluates one category on one track.
pub fn evaluate(
    portfolio: &Portfolio,
    category: Category,
    track: Track,
    as_of: NaiveDate,
    basis: Basis,
    rulebook: &Rulebook,
) -> Result<Eligibility, EvaluationError> {
    let version = in_force(rulebook, as_of)?;
    let prepared = Prepared::new(portfolio, basis, &rulebook.evidence);
    let ctx = Ctx { portfolio, track, category, as_of, basis, policy: &rulebook.evidence, prep: &prepared };
    Ok(evaluate_in(&ctx, version, category).0)
}

/// Every category of the version in force, best progress first: met ones,
/// then by share of required top-level requirements met, then by mean
/// progress, then in `Category` order.
pub fn recommend(
    portfolio: &Portfolio,
    track: Track,
    as_of: NaiveDate,
    basis: Basis,
    rulebook: &Rulebook,
) -> Result<Vec<Eligibility>, EvaluationError> {
    let version = in_force(rulebook, as_of)?;
    let prepared = Prepared::new(portfolio, basis, &rulebook.evidence);
    let ctx = Ctx {
        portfolio,
        track,
        category: portfolio.target_category,
        as_of,
        basis,
        policy: &rulebook.evidence,
        prep: &prepared,
    };
    let mut ranked: Vec<(Eligibility, Rank)> =
        version.categories.iter().map(|c| evaluate_in(&ctx, version, c.category)).collect();
    ranked.sort_by(|(a, ra), (b, rb)| {
        b.met
            .cmp(&a.met)
            .then(rb.share.total_cmp(&ra.share))
            .then(rb.mean.total_cmp(&ra.mean))
            .then(a.category.cmp(&b.category))
    });
    Ok(ranked.into_iter().map(|(e, _)| e).collect())
}

fn in_force(rulebook: &Rulebook, as_of: NaiveDate) -> Result<&RulebookVersion, EvaluationError> {
    rulebook.in_force(as_of)
}

/// How close a category is, for ranking.
struct Rank {
    share: f64,
    mean: f64,
}

fn evaluate_in(ctx: &Ctx<'_>, version: &RulebookVersion, category: Category) -> (Eligibility, Rank) {
    let code = category.code(ctx.track);
    let mut eligibility = Eligibility {
        category,
        track: ctx.track,
        code,
        rulebook: version.id.clone(),
        as_of: ctx.as_of,
        basis: ctx.basis,
        met: false,
        requirements: Vec::new(),
        exam_required: false,
    };
    let definition = version.category(category).filter(|_| version.offers(ctx.track));
    let Some(definition) = definition else {
        eligibility.requirements.push(RequirementResult {
            key: "category.offered".into(),
            title: "Category offered".into(),
            met: false,
            optional: false,
            progress: None,
            explanation: format!("{code} is not offered under {}, in force on {}.", version.id, ctx.as_of),
            counted_entry_ids: Vec::new(),
            missing: Vec::new(),
            parent: None,
        });
        return (eligibility, Rank { share: 0.0, mean: 0.0 });
    };
    let ctx = Ctx { category, ..*ctx };
    let (results, met, rank) = eval_top_level(&ctx, &definition.requirements);
    eligibility.met = met;
    eligibility.requirements = results;
    eligibility.exam_required = definition.exam_required();
    (eligibility, rank)
}

/// Evaluates a top-level list of requirements: the results (pre-order),
/// whether every non-optional one is met, and how close it is.
fn eval_top_level(ctx: &Ctx<'_>, requirements: &[Requirement]) -> (Vec<RequirementResult>, bool, Rank) {
    let mut out = Vec::with_capacity(16);
    let (mut required, mut met_count, mut fraction_sum) = (0usize, 0usize, 0.0);
    for req in requirements {
        let outcome = eval_node(ctx, req, None, &mut out);
        if !req.optional {
            required += 1;
            met_count += usize::from(outcome.met);
            fraction_sum += outcome.fraction;
        }
    }
    let denominator = required.max(1) as f64;
    let rank = Rank { share: met_count as f64 / denominator, mean: fraction_sum / denominator };
    (out, met_count == required, rank)
}

/// What a tree of requirements outside a category is evaluated for
/// (a renewal, a reinstatement).
pub struct Tree<'a> {
    /// Names the rules used, like a rulebook version id
    /// ("nys-aimh@renewal:2025-01-01..2027-12-31").
    pub id: String,
    pub requirements: &'a [Requirement],
    pub policy: &'a EvidencePolicy,
}

/// Evaluates `tree` for someone endorsed in `category` on `track`, exactly
/// as a category's requirements are evaluated: the same primitives,
/// progress, explanations and missing items.
pub fn evaluate_tree(
    portfolio: &Portfolio,
    category: Category,
    track: Track,
    as_of: NaiveDate,
    basis: Basis,
    tree: &Tree<'_>,
) -> Eligibility {
    let prepared = Prepared::new(portfolio, basis, tree.policy);
    let ctx = Ctx { portfolio, track, category, as_of, basis, policy: tree.policy, prep: &prepared };
    let (requirements, met, _) = eval_top_level(&ctx, tree.requirements);
    Eligibility {
        category,
        track,
        code: category.code(track),
        rulebook: tree.id.clone(),
        as_of,
        basis,
        met,
        requirements,
        exam_required: false,
    }
}

/// What one requirement's evaluation tells its parent.
#[derive(Clone, Copy)]
struct Outcome {
    met: bool,
    /// 0..=1; 1 only when met.
    fraction: f64,
}

/// A primitive's verdict.
struct Assessment {
    met: bool,
    progress: Option<Progress>,
    explanation: String,
    counted: Vec<EntryId>,
    missing: Vec<String>,
}

impl Assessment {
    fn fraction(&self) -> f64 {
        if self.met {
            return 1.0;
        }
        match &self.progress {
            Some(p) if p.required > 0.0 => (p.current / p.required).clamp(0.0, 0.999),
            _ => 0.0,
        }
    }
}

fn eval_node(ctx: &Ctx<'_>, req: &Requirement, parent: Option<&Arc<str>>, out: &mut Vec<RequirementResult>) -> Outcome {
    let assessment = match &req.rule {
        Rule::AllOf(children) | Rule::AnyOf(children) => {
            return eval_group(ctx, req, children, parent, out);
        }
        Rule::Degree(rule) => checks::degree(ctx, rule),
        Rule::TrainingHours(rule) => checks::training(ctx, rule),
        Rule::WorkExperience(rule) => work::work(ctx, rule),
        Rule::ReflectiveSupervision(rule) => rsc::rsc(ctx, rule),
        Rule::References(rule) => checks::references(ctx, rule),
        Rule::Leadership(rule) => checks::leadership(ctx, rule),
        Rule::PriorEndorsement(rule) => checks::prior(ctx, rule),
        Rule::Agreement => checks::agreement(ctx),
        Rule::Membership => checks::membership(ctx),
        Rule::Exam => checks::exam(ctx),
    };
    let outcome = Outcome { met: assessment.met, fraction: assessment.fraction() };
    out.push(RequirementResult {
        key: req.key.clone(),
        title: req.title.clone(),
        met: assessment.met,
        optional: req.optional,
        progress: assessment.progress,
        explanation: assessment.explanation,
        counted_entry_ids: assessment.counted,
        missing: assessment.missing,
        parent: parent.cloned(),
    });
    outcome
}

fn eval_group(
    ctx: &Ctx<'_>,
    req: &Requirement,
    children: &[Requirement],
    parent: Option<&Arc<str>>,
    out: &mut Vec<RequirementResult>,
) -> Outcome {
    let all = matches!(req.rule, Rule::AllOf(_));
    let at = out.len();
    out.push(RequirementResult {
        key: req.key.clone(),
        title: req.title.clone(),
        met: false,
        optional: req.optional,
        progress: None,
        explanation: String::new(),
        counted_entry_ids: Vec::new(),
        missing: Vec::new(),
        parent: parent.cloned(),
    });
    let mut results: Vec<(usize, Outcome)> = Vec::with_capacity(children.len());
    for child in children {
        let index = out.len();
        let outcome = eval_node(ctx, child, Some(&req.key), out);
        if !child.optional {
            results.push((index, outcome));
        }
    }
    let met_count = results.iter().filter(|(_, o)| o.met).count();
    let n = results.len();
    let (met, fraction) = if all {
        let mean = results.iter().map(|(_, o)| o.fraction).sum::<f64>() / n.max(1) as f64;
        (met_count == n, if met_count == n { 1.0 } else { mean.min(0.999) })
    } else {
        let best = results.iter().map(|(_, o)| o.fraction).fold(0.0, f64::max);
        (met_count > 0, best)
    };
    let title_of = |i: usize| format!("\"{}\"", out[i].title);
    let (explanation, counted, missing, progress) = if all {
        let open: Vec<String> = results.iter().filter(|(_, o)| !o.met).map(|(i, _)| title_of(*i)).collect();
        let explanation = if met {
            format!("All {} are met.", count(n, "part", "parts"))
        } else {
            format!("{met_count} of {n} parts are met; still open: {}.", either(&open))
        };
        let mut counted = Vec::new();
        let mut missing = Vec::new();
        for (i, o) in &results {
            merge(&mut counted, &out[*i].counted_entry_ids);
            if !o.met {
                missing.extend(out[*i].missing.iter().cloned());
            }
        }
        let progress = Some(Progress { current: met_count as f64, required: n as f64, unit: "requirements" });
        (explanation, counted, missing, progress)
    } else {
        let chosen = results.iter().filter(|(_, o)| o.met).map(|(i, _)| *i).next().or_else(|| closest(&results));
        match chosen {
            Some(i) if met => {
                (format!("Met through {}.", title_of(i)), out[i].counted_entry_ids.clone(), Vec::new(), None)
            }
            Some(i) => (
                format!("None of the {n} options is met yet; the closest is {}.", title_of(i)),
                Vec::new(),
                out[i].missing.clone(),
                None,
            ),
            None => ("No option is defined.".to_owned(), Vec::new(), Vec::new(), None),
        }
    };
    let group = &mut out[at];
    group.met = met;
    group.explanation = explanation;
    group.counted_entry_ids = counted;
    group.missing = missing;
    group.progress = progress;
    Outcome { met, fraction }
}

/// The unmet option with the highest progress; the first on ties.
fn closest(results: &[(usize, Outcome)]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, o) in results {
        if best.is_none_or(|(_, f)| o.fraction.partial_cmp(&f) == Some(Ordering::Greater)) {
            best = Some((*i, o.fraction));
        }
    }
    best.map(|(i, _)| i)
}

fn merge(into: &mut Vec<EntryId>, ids: &[EntryId]) {
    for id in ids {
        if !into.contains(id) {
            into.push(id.clone());
        }
    }
}
