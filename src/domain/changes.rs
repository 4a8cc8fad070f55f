//! Applying a change set to a portfolio: entry upserts and removals, all or
//! nothing. Pure: the caller validates entries, generates ids and stores.

use super::model::{
    EducationEntry, ExamResult, LeadershipEntry, Portfolio, PriorEndorsement, ReferenceEntry, RscEntry, TrainingEntry,
    WorkEntry,
};

/// One entry of any section.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Education(EducationEntry),
    Training(TrainingEntry),
    Work(WorkEntry),
    ReflectiveSupervision(RscEntry),
    Leadership(LeadershipEntry),
    Reference(ReferenceEntry),
    Exam(ExamResult),
    PriorEndorsement(PriorEndorsement),
}

impl Entry {
    pub fn id(&self) -> &str {
        match self {
            Entry::Education(e) => &e.id,
            Entry::Training(e) => &e.id,
            Entry::Work(e) => &e.id,
            Entry::ReflectiveSupervision(e) => &e.id,
            Entry::Leadership(e) => &e.id,
            Entry::Reference(e) => &e.id,
            Entry::Exam(e) => &e.id,
            Entry::PriorEndorsement(e) => &e.id,
        }
    }

    /// The evidence this entry links (some sections link none).
    pub fn evidence_ids(&self) -> &[String] {
        match self {
            Entry::Education(e) => &e.evidence_ids,
            Entry::Training(e) => &e.evidence_ids,
            Entry::Work(e) => &e.evidence_ids,
            Entry::ReflectiveSupervision(e) => &e.evidence_ids,
            Entry::Exam(e) => &e.evidence_ids,
            Entry::Leadership(_) | Entry::Reference(_) | Entry::PriorEndorsement(_) => &[],
        }
    }

    /// The section's name as in the API ("reflectiveSupervision").
    pub fn section(&self) -> &'static str {
        match self {
            Entry::Education(_) => "education",
            Entry::Training(_) => "training",
            Entry::Work(_) => "work",
            Entry::ReflectiveSupervision(_) => "reflectiveSupervision",
            Entry::Leadership(_) => "leadership",
            Entry::Reference(_) => "reference",
            Entry::Exam(_) => "exam",
            Entry::PriorEndorsement(_) => "priorEndorsement",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no entry has id `{0}`")]
    UnknownId(String),
    #[error("entry `{id}` is a {existing} entry, not a {given} entry")]
    WrongSection { id: String, existing: &'static str, given: &'static str },
    #[error("entry `{0}` is changed more than once")]
    Repeated(String),
}

/// Where `id` lives: (section, index).
fn locate(portfolio: &Portfolio, id: &str) -> Option<(&'static str, usize)> {
    fn find<T>(list: &[T], id: &str, get: impl Fn(&T) -> &str) -> Option<usize> {
        list.iter().position(|e| get(e) == id)
    }
    let p = portfolio;
    find(&p.education, id, |e| &e.id)
        .map(|i| ("education", i))
        .or_else(|| find(&p.training, id, |e| &e.id).map(|i| ("training", i)))
        .or_else(|| find(&p.work, id, |e| &e.id).map(|i| ("work", i)))
        .or_else(|| find(&p.reflective_supervision, id, |e| &e.id).map(|i| ("reflectiveSupervision", i)))
        .or_else(|| find(&p.leadership, id, |e| &e.id).map(|i| ("leadership", i)))
        .or_else(|| find(&p.references, id, |e| &e.id).map(|i| ("reference", i)))
        .or_else(|| find(&p.exams, id, |e| &e.id).map(|i| ("exam", i)))
        .or_else(|| find(&p.prior_endorsements, id, |e| &e.id).map(|i| ("priorEndorsement", i)))
}

/// Replaces the entry with the same id (`replace = true`) or appends it.
pub fn upsert(portfolio: &mut Portfolio, entry: Entry, replace: bool) -> Result<(), ChangeError> {
    let slot = if replace {
        let (section, index) =
            locate(portfolio, entry.id()).ok_or_else(|| ChangeError::UnknownId(entry.id().to_owned()))?;
        if section != entry.section() {
            return Err(ChangeError::WrongSection {
                id: entry.id().to_owned(),
                existing: section,
                given: entry.section(),
            });
        }
        Some(index)
    } else {
        None
    };
    fn put<T>(list: &mut Vec<T>, slot: Option<usize>, value: T) {
        match slot {
            Some(index) => list[index] = value,
            None => list.push(value),
        }
    }
    match entry {
        Entry::Education(e) => put(&mut portfolio.education, slot, e),
        Entry::Training(e) => put(&mut portfolio.training, slot, e),
        Entry::Work(e) => put(&mut portfolio.work, slot, e),
        Entry::ReflectiveSupervision(e) => put(&mut portfolio.reflective_supervision, slot, e),
        Entry::Leadership(e) => put(&mut portfolio.leadership, slot, e),
        Entry::Reference(e) => put(&mut portfolio.references, slot, e),
        Entry::Exam(e) => put(&mut portfolio.exams, slot, e),
        Entry::PriorEndorsement(e) => put(&mut portfolio.prior_endorsements, slot, e),
    }
    Ok(())
}

/// Removes the entry with `id` from whichever section holds it.
pub fn remove(portfolio: &mut Portfolio, id: &str) -> Result<(), ChangeError> {
    let (section, index) = locate(portfolio, id).ok_or_else(|| ChangeError::UnknownId(id.to_owned()))?;
    let p = portfolio;
    match section {
        "education" => drop(p.education.remove(index)),
        "training" => drop(p.training.remove(index)),
        "work" => drop(p.work.remove(index)),
        "reflectiveSupervision" => drop(p.reflective_supervision.remove(index)),
        "leadership" => drop(p.leadership.remove(index)),
        "reference" => drop(p.references.remove(index)),
        "exam" => drop(p.exams.remove(index)),
        _ => drop(p.prior_endorsements.remove(index)),
    }
    Ok(())
}

/// Removes `evidence_id` from every entry that links it; true if any did.
pub fn unlink_evidence(portfolio: &mut Portfolio, evidence_id: &str) -> bool {
    let mut changed = false;
    let mut drop_from = |ids: &mut Vec<String>| {
        let before = ids.len();
        ids.retain(|id| id != evidence_id);
        changed |= ids.len() != before;
    };
    let p = portfolio;
    p.education.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    p.training.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    p.work.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    p.reflective_supervision.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    p.exams.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    p.licenses.iter_mut().for_each(|e| drop_from(&mut e.evidence_ids));
    if let Some(agreement) = &mut p.agreement {
        drop_from(&mut agreement.evidence_ids);
    }
    changed
}

/// Every evidence id any entry (or the agreement) links.
pub fn linked_evidence(portfolio: &Portfolio) -> impl Iterator<Item = &str> {
    let p = portfolio;
    p.education
        .iter()
        .flat_map(|e| &e.evidence_ids)
        .chain(p.training.iter().flat_map(|e| &e.evidence_ids))
        .chain(p.work.iter().flat_map(|e| &e.evidence_ids))
        .chain(p.reflective_supervision.iter().flat_map(|e| &e.evidence_ids))
        .chain(p.exams.iter().flat_map(|e| &e.evidence_ids))
        .chain(p.licenses.iter().flat_map(|e| &e.evidence_ids))
        .chain(p.agreement.iter().flat_map(|a| &a.evidence_ids))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Category, Track};
    use crate::domain::sample::date;

    fn leadership(id: &str, description: &str) -> Entry {
        Entry::Leadership(LeadershipEntry {
            id: id.into(),
            description: description.into(),
            started_on: None,
            ended_on: None,
        })
    }

    #[test]
    fn upsert_appends_replaces_and_refuses_strangers() {
        let mut p = Portfolio::new(Track::Infant, Category::MentorPolicy);
        upsert(&mut p, leadership("a", "board"), false).unwrap();
        upsert(&mut p, leadership("a", "chair"), true).unwrap();
        assert_eq!(p.leadership.len(), 1);
        assert_eq!(p.leadership[0].description, "chair");
        assert_eq!(upsert(&mut p, leadership("zz", "x"), true), Err(ChangeError::UnknownId("zz".into())));
        let exam = Entry::Exam(ExamResult {
            id: "a".into(),
            category: Category::MentorPolicy,
            taken_on: date(2024, 1, 1),
            passed: true,
            evidence_ids: vec![],
        });
        assert!(matches!(upsert(&mut p, exam, true), Err(ChangeError::WrongSection { .. })));
    }

    #[test]
    fn remove_finds_the_section() {
        let mut p = Portfolio::new(Track::Infant, Category::MentorPolicy);
        upsert(&mut p, leadership("a", "board"), false).unwrap();
        remove(&mut p, "a").unwrap();
        assert!(p.leadership.is_empty());
        assert_eq!(remove(&mut p, "a"), Err(ChangeError::UnknownId("a".into())));
    }
}
