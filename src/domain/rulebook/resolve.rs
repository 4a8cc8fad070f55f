//! Checks across values and `extends` resolution; errors name a JSON path.

use super::super::model::Category;
use super::raw::{RawCategory, RawEvidence, RawRulebook, RawVersion, check_group, unique_keys, words};
use super::{CategoryDefinition, EvidencePolicy, Requirement, Rule, Rulebook, RulebookError, RulebookVersion};

pub fn resolve(source_name: &str, raw: RawRulebook) -> Result<Rulebook, RulebookError> {
    let fail =
        |path: String, message: String| RulebookError::Path { source_name: source_name.to_owned(), path, message };
    let association = raw.association;
    let valid_id = !association.is_empty()
        && association.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_id {
        return Err(fail("association".into(), format!("`{association}` must be lowercase letters, digits and '-'")));
    }
    if raw.versions.is_empty() {
        return Err(fail("versions".into(), "a rulebook needs at least one version".into()));
    }
    let mut versions: Vec<RulebookVersion> = Vec::with_capacity(raw.versions.len());
    for (i, rv) in raw.versions.into_iter().enumerate() {
        let path = format!("versions[{i}]");
        if let Some(previous) = versions.last()
            && rv.effective_from <= previous.effective_from
        {
            return Err(fail(
                format!("{path}.effectiveFrom"),
                format!(
                    "{} is not after the previous version's {}; versions must be in increasing date order",
                    rv.effective_from, previous.effective_from
                ),
            ));
        }
        let version = resolve_version(&association, &versions, rv, &path).map_err(|(p, m)| fail(p, m))?;
        versions.push(version);
    }
    let renewal = match raw.renewal {
        Some(renewal) => Some(renewal.check().map_err(|(path, message)| fail(format!("renewal.{path}"), message))?),
        None => None,
    };
    Ok(Rulebook { association, name: raw.name, evidence: evidence_policy(raw.evidence), versions, renewal })
}

fn evidence_policy(raw: RawEvidence) -> EvidencePolicy {
    let default = EvidencePolicy::default();
    let pick = |given: Option<Vec<_>>, fallback| given.map_or(fallback, |list| words(&list));
    EvidencePolicy {
        education: pick(raw.education, default.education),
        training: pick(raw.training, default.training),
        work: pick(raw.work, default.work),
        reflective_supervision: pick(raw.reflective_supervision, default.reflective_supervision),
        agreement: pick(raw.agreement, default.agreement),
        exams: pick(raw.exams, default.exams),
        licenses: pick(raw.licenses, default.licenses),
    }
}

type Problem = (String, String);

fn resolve_version(
    association: &str,
    earlier: &[RulebookVersion],
    rv: RawVersion,
    path: &str,
) -> Result<RulebookVersion, Problem> {
    let (mut tracks, mut exam_fee, mut categories) = match rv.extends {
        Some(base_date) => {
            let base = earlier.iter().find(|v| v.effective_from == base_date).ok_or_else(|| {
                (format!("{path}.extends"), format!("{base_date} is not the effectiveFrom of an earlier version"))
            })?;
            (base.tracks.clone(), base.exam_fee, base.categories.clone())
        }
        None => (Vec::new(), None, Vec::new()),
    };
    let extends = rv.extends.is_some();
    match rv.tracks {
        Some(list) => tracks = words(&list),
        None if !extends => {
            return Err((format!("{path}.tracks"), "missing (required unless the version extends another)".into()));
        }
        None => {}
    }
    tracks.sort();
    tracks.dedup();
    if tracks.is_empty() {
        return Err((format!("{path}.tracks"), "a version must offer at least one track".into()));
    }
    if rv.exam_fee.is_some() {
        exam_fee = rv.exam_fee;
    }
    for (j, removed) in rv.remove_categories.iter().enumerate() {
        let before = categories.len();
        categories.retain(|c: &CategoryDefinition| c.category != removed.0);
        if categories.len() == before {
            return Err((
                format!("{path}.removeCategories[{j}]"),
                format!("{} is not defined in the version this one extends", removed.0),
            ));
        }
    }
    let mut seen: Vec<Category> = Vec::new();
    for (j, rc) in rv.categories.into_iter().enumerate() {
        let cpath = format!("{path}.categories[{j}]");
        if seen.contains(&rc.category) {
            return Err((cpath, format!("{} is listed twice in this version", rc.category)));
        }
        seen.push(rc.category);
        apply_category(&mut categories, rc, &cpath)?;
    }
    categories.sort_by_key(|c| c.category);
    for c in &categories {
        let cpath = format!("{path}.categories[{}]", c.category);
        if c.requirements.is_empty() {
            return Err((cpath, "has no requirements left".into()));
        }
        if let Some(track) = tracks.iter().find(|t| !c.titles.contains_key(t)) {
            return Err((cpath, format!("no title for offered track {track}")));
        }
        unique_keys(&c.requirements).map_err(|key| (cpath.clone(), format!("duplicate requirement key `{key}`")))?;
        check_groups(&c.requirements).map_err(|(key, m)| (cpath.clone(), format!("requirement `{key}`: {m}")))?;
    }
    if categories.is_empty() {
        return Err((format!("{path}.categories"), "a version must define at least one category".into()));
    }
    Ok(RulebookVersion {
        id: format!("{association}@{}", rv.effective_from),
        effective_from: rv.effective_from,
        tracks,
        exam_fee,
        categories,
    })
}

fn apply_category(categories: &mut Vec<CategoryDefinition>, rc: RawCategory, cpath: &str) -> Result<(), Problem> {
    let existing = categories.iter().position(|c| c.category == rc.category);
    if let Some(requirements) = rc.requirements {
        let definition = CategoryDefinition {
            category: rc.category,
            titles: rc.title,
            registration_fee: rc.registration_fee,
            processing_fee: rc.processing_fee,
            requirements,
        };
        match existing {
            Some(at) => categories[at] = definition,
            None => categories.push(definition),
        }
        return Ok(());
    }
    let at = existing.ok_or_else(|| {
        (
            cpath.to_owned(),
            format!("{} is not inherited from an earlier version; give `requirements` to define it", rc.category),
        )
    })?;
    let target = &mut categories[at];
    target.titles.extend(rc.title);
    if rc.registration_fee.is_some() {
        target.registration_fee = rc.registration_fee;
    }
    if rc.processing_fee.is_some() {
        target.processing_fee = rc.processing_fee;
    }
    for (k, key) in rc.remove_requirements.iter().enumerate() {
        if !remove(&mut target.requirements, key) {
            return Err((
                format!("{cpath}.removeRequirements[{k}]"),
                format!("no requirement `{key}` in {} to remove", rc.category),
            ));
        }
    }
    for (k, new) in rc.replace_requirements.into_iter().enumerate() {
        let key = new.key.to_string();
        if !replace(&mut target.requirements, new) {
            return Err((
                format!("{cpath}.replaceRequirements[{k}]"),
                format!("no requirement `{key}` in {} to replace", rc.category),
            ));
        }
    }
    target.requirements.extend(rc.add_requirements);
    Ok(())
}

fn remove(reqs: &mut Vec<Requirement>, key: &str) -> bool {
    let before = reqs.len();
    reqs.retain(|r| &*r.key != key);
    if reqs.len() != before {
        return true;
    }
    reqs.iter_mut().any(|r| match &mut r.rule {
        Rule::AllOf(children) | Rule::AnyOf(children) => remove(children, key),
        _ => false,
    })
}

fn replace(reqs: &mut [Requirement], new: Requirement) -> bool {
    if let Some(slot) = reqs.iter_mut().find(|r| r.key == new.key) {
        *slot = new;
        return true;
    }
    for r in reqs.iter_mut() {
        if let Rule::AllOf(children) | Rule::AnyOf(children) = &mut r.rule
            && children_hold(children, &new.key)
        {
            return replace(children, new);
        }
    }
    false
}

fn children_hold(reqs: &[Requirement], key: &str) -> bool {
    reqs.iter().any(|r| {
        &*r.key == key
            || match &r.rule {
                Rule::AllOf(children) | Rule::AnyOf(children) => children_hold(children, key),
                _ => false,
            }
    })
}

/// After patching, groups must still hold a non-optional child.
fn check_groups(reqs: &[Requirement]) -> Result<(), (String, String)> {
    for r in reqs {
        if let Rule::AllOf(children) | Rule::AnyOf(children) = &r.rule {
            let kind = if matches!(r.rule, Rule::AllOf(_)) { "allOf" } else { "anyOf" };
            check_group(kind, children).map_err(|m| (r.key.to_string(), m))?;
            check_groups(children)?;
        }
    }
    Ok(())
}
