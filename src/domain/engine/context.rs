//! What an evaluation reads: the request, and the portfolio's entries filtered
//! by basis and sorted once, then shared by every category of a `recommend`.

use chrono::{Datelike, NaiveDate};

use super::super::model::{
    Basis, Category, EducationEntry, EvidenceKind, EvidenceStatus, Portfolio, RscEntry, Track, TrainingEntry,
};
use super::super::rulebook::EvidencePolicy;
use std::cell::OnceCell;

use super::EntryId;
use super::checks::milli_hours;

#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub portfolio: &'a Portfolio,
    pub track: Track,
    pub category: Category,
    pub as_of: NaiveDate,
    pub basis: Basis,
    pub policy: &'a EvidencePolicy,
    pub prep: &'a Prepared<'a>,
}

impl Ctx<'_> {
    /// Under VERIFIED, an entry of a type that needs evidence counts only if one
    /// of its evidence ids is a VERIFIED item of an accepted kind.
    pub fn backed(&self, evidence_ids: &[String], accepted: &[EvidenceKind]) -> bool {
        self.prep.backed(self.basis, evidence_ids, accepted)
    }
}

/// An RS/C session with its hours in thousandths and its calendar month.
pub struct Session<'a> {
    pub entry: &'a RscEntry,
    id: OnceCell<EntryId>,
    pub milli: i64,
    pub about: i64,
    pub month: i32,
}

impl Session<'_> {
    pub fn id(&self) -> EntryId {
        self.id.get_or_init(|| EntryId::from(self.entry.id.as_str())).clone()
    }
}

/// An entry id made shareable on first use, then cloned cheaply by every
/// category of the same call.
#[derive(Default)]
pub struct SharedId(OnceCell<EntryId>);

impl SharedId {
    pub fn get(&self, id: &str) -> EntryId {
        self.0.get_or_init(|| EntryId::from(id)).clone()
    }
}

/// Entries that count under the basis, sorted by (date, id); the rest kept
/// aside so explanations can say how many lacked verified evidence.
pub struct Prepared<'a> {
    /// VERIFIED evidence (id, kind), sorted; empty under CLAIMED.
    verified: Vec<(&'a str, EvidenceKind)>,
    pub education: Vec<&'a EducationEntry>,
    pub education_unbacked: Vec<&'a EducationEntry>,
    /// With hours in thousandths (positive hours only).
    pub training: Vec<(&'a TrainingEntry, i64, SharedId)>,
    pub training_unbacked: Vec<&'a TrainingEntry>,
    pub sessions: Vec<Session<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(portfolio: &'a Portfolio, basis: Basis, policy: &EvidencePolicy) -> Prepared<'a> {
        let mut prep = Prepared {
            verified: Vec::new(),
            education: Vec::with_capacity(portfolio.education.len()),
            education_unbacked: Vec::new(),
            training: Vec::with_capacity(portfolio.training.len()),
            training_unbacked: Vec::new(),
            sessions: Vec::with_capacity(portfolio.reflective_supervision.len()),
        };
        if basis == Basis::Verified {
            prep.verified.extend(
                portfolio
                    .evidence
                    .iter()
                    .filter(|e| e.status == EvidenceStatus::Verified)
                    .map(|e| (e.id.as_str(), e.kind)),
            );
            prep.verified.sort_unstable();
        }
        for e in &portfolio.education {
            if prep.backed(basis, &e.evidence_ids, &policy.education) {
                prep.education.push(e);
            } else {
                prep.education_unbacked.push(e);
            }
        }
        prep.education.sort_by(|a, b| (a.conferred_on, &a.id).cmp(&(b.conferred_on, &b.id)));
        for t in &portfolio.training {
            let Some(milli) = milli_hours(t.hours) else {
                continue;
            };
            if prep.backed(basis, &t.evidence_ids, &policy.training) {
                prep.training.push((t, milli, SharedId::default()));
            } else {
                prep.training_unbacked.push(t);
            }
        }
        prep.training.sort_by(|(a, ..), (b, ..)| (a.completed_on, &a.id).cmp(&(b.completed_on, &b.id)));
        for s in &portfolio.reflective_supervision {
            let Some(milli) = milli_hours(s.hours) else {
                continue;
            };
            if prep.backed(basis, &s.evidence_ids, &policy.reflective_supervision) {
                prep.sessions.push(Session {
                    entry: s,
                    id: OnceCell::new(),
                    milli,
                    about: if s.about_providing_rsc { milli } else { 0 },
                    month: s.date.year() * 12 + s.date.month0() as i32,
                });
            }
        }
        prep.sessions.sort_by(|a, b| (a.entry.date, &a.entry.id).cmp(&(b.entry.date, &b.entry.id)));
        prep
    }

    fn backed(&self, basis: Basis, evidence_ids: &[String], accepted: &[EvidenceKind]) -> bool {
        if basis == Basis::Claimed || accepted.is_empty() {
            return true;
        }
        evidence_ids.iter().any(|id| {
            let start = self.verified.partition_point(|(v, _)| *v < id.as_str());
            self.verified[start..]
                .iter()
                .take_while(|(v, _)| *v == id.as_str())
                .any(|(_, kind)| accepted.contains(kind))
        })
    }
}
