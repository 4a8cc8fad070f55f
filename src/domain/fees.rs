//! Fees as data and the arithmetic of a ledger. An association's fee
//! schedule is effective-dated like its rules: the fee charged is the one
//! in force on the association's calendar day it is charged, and a version
//! in force is never edited (a change is a new version from a later day).
//! The category fees (registration, processing, exam) are published with
//! the rules, in the rulebook; the others (membership, renewal,
//! reinstatement) in a schedule of their own. [`FeeSchedule::compose`]
//! reads both as one.
//! Money is integer cents in one currency; nothing here rounds.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::model::{Category, Currency, FeeKind, MembershipType, Payee};
use super::rulebook::{Rulebook, RulebookVersion};

/// An amount of money: whole cents of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub cents: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn usd(dollars: i64) -> Money {
        Money { cents: dollars * 100, currency: Currency::Usd }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let cents = self.cents.unsigned_abs();
        match self.currency {
            Currency::Usd => write!(f, "{sign}${}.{:02}", cents / 100, cents % 100),
        }
    }
}

/// One priced item of a schedule version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeLine {
    pub kind: FeeKind,
    /// The categories it applies to; empty: every category (or none, for
    /// fees not tied to one, such as membership).
    #[serde(default)]
    pub categories: Vec<Category>,
    /// For membership fees: which kind of membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipType>,
    pub amount: Money,
    pub payee: Payee,
    /// Only staff refund, and never a fee that is not refundable.
    pub refundable: bool,
}

impl FeeLine {
    fn applies(&self, kind: FeeKind, category: Option<Category>, membership: Option<MembershipType>) -> bool {
        self.kind == kind
            && self.membership == membership
            && (self.categories.is_empty() || category.is_some_and(|c| self.categories.contains(&c)))
    }
}

/// The fees in force from one day until the next version's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeVersion {
    pub effective_from: NaiveDate,
    pub lines: Vec<FeeLine>,
}

/// Every version of an association's fees, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub versions: Vec<FeeVersion>,
}

/// Why a schedule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

impl FeeSchedule {
    /// The version in force on `day`, if any.
    pub fn in_force(&self, day: NaiveDate) -> Option<&FeeVersion> {
        self.versions.iter().rev().find(|version| version.effective_from <= day)
    }

    /// The fee of `kind` (for `category` or `membership`) in force on
    /// `day`; `None` when the schedule has none (nothing is charged).
    pub fn fee(
        &self,
        kind: FeeKind,
        category: Option<Category>,
        membership: Option<MembershipType>,
        day: NaiveDate,
    ) -> Option<&FeeLine> {
        self.in_force(day)?.lines.iter().find(|line| line.applies(kind, category, membership))
    }

    /// Versions in strictly ascending order, amounts not negative, one
    /// currency, and no two lines of a version pricing the same thing.
    pub fn check(&self) -> Result<(), ScheduleError> {
        if self.versions.windows(2).any(|pair| pair[0].effective_from >= pair[1].effective_from) {
            return Err(ScheduleError("fee versions must take effect on strictly ascending days".into()));
        }
        let mut currencies = self.versions.iter().flat_map(|v| &v.lines).map(|line| line.amount.currency);
        if let Some(first) = currencies.next()
            && currencies.any(|currency| currency != first)
        {
            return Err(ScheduleError("every fee of a schedule is in one currency".into()));
        }
        for version in &self.versions {
            for (index, line) in version.lines.iter().enumerate() {
                if line.amount.cents < 0 {
                    return Err(ScheduleError(format!("a {} fee cannot be negative", line.kind)));
                }
                let overlaps = version.lines[..index].iter().any(|earlier| {
                    earlier.kind == line.kind
                        && earlier.membership == line.membership
                        && (earlier.categories.is_empty()
                            || line.categories.is_empty()
                            || earlier.categories.iter().any(|c| line.categories.contains(c)))
                });
                if overlaps {
                    return Err(ScheduleError(format!(
                        "the version from {} prices a {} fee twice",
                        version.effective_from, line.kind
                    )));
                }
            }
        }
        Ok(())
    }

    /// The schedule an association charges by: the registration,
    /// processing and exam fees of each version of its rulebook (where the
    /// association publishes them with its rules), together with the fees
    /// its rules do not carry (`others`: membership, renewal,
    /// reinstatement). A version starts on every day either source
    /// changes.
    pub fn compose(rulebook: Option<&Rulebook>, others: &FeeSchedule) -> FeeSchedule {
        let mut days: Vec<NaiveDate> = rulebook
            .into_iter()
            .flat_map(|rulebook| rulebook.versions.iter().map(|version| version.effective_from))
            .chain(others.versions.iter().map(|version| version.effective_from))
            .collect();
        days.sort();
        days.dedup();
        let versions = days
            .into_iter()
            .map(|day| {
                let mut lines =
                    rulebook.and_then(|rulebook| rulebook.version_at(day)).map(rulebook_lines).unwrap_or_default();
                lines.extend(others.in_force(day).into_iter().flat_map(|version| version.lines.iter().cloned()));
                FeeVersion { effective_from: day, lines }
            })
            .collect();
        FeeSchedule { versions }
    }

    /// NYS-AIMH's membership fees (seed 000): individual Regular $50 (one
    /// year), Two-Year Regular $90, Full-time Student $30; organisational
    /// Regular $200, Two-Year $350. Its category fees are in its rulebook;
    /// renewal and reinstatement amounts are not published by NYS-AIMH, so
    /// these are examples (renewal $50, reinstatement $25), marked as such.
    pub fn nys_aimh_memberships() -> FeeSchedule {
        let other = |kind, dollars| FeeLine {
            kind,
            categories: Vec::new(),
            membership: None,
            amount: Money::usd(dollars),
            payee: Payee::Association,
            refundable: false,
        };
        let membership = |kind, dollars| FeeLine {
            kind: FeeKind::Membership,
            categories: Vec::new(),
            membership: Some(kind),
            amount: Money::usd(dollars),
            payee: Payee::Association,
            refundable: false,
        };
        FeeSchedule {
            versions: vec![FeeVersion {
                effective_from: NaiveDate::from_ymd_opt(2017, 1, 1).expect("a calendar day"),
                lines: vec![
                    membership(MembershipType::Individual, 50),
                    membership(MembershipType::TwoYear, 90),
                    membership(MembershipType::Student, 30),
                    membership(MembershipType::Organisational, 200),
                    membership(MembershipType::OrganisationalTwoYear, 350),
                    // Example amounts: NYS-AIMH does not publish its renewal
                    // fee; $25 is reinstatement at several associations.
                    other(FeeKind::Renewal, 50),
                    other(FeeKind::Reinstatement, 25),
                ],
            }],
        }
    }
}

/// The fees one rulebook version carries: registration (never refunded)
/// and processing per category, paid to the association; the exam, paid
/// to the Alliance.
fn rulebook_lines(version: &RulebookVersion) -> Vec<FeeLine> {
    let usd = |fee: &super::rulebook::Fee| Money { cents: i64::from(fee.cents), currency: Currency::Usd };
    let mut lines = Vec::new();
    for definition in &version.categories {
        let category = vec![definition.category];
        for (kind, fee, refundable) in [
            (FeeKind::Registration, definition.registration_fee.as_ref(), false),
            (FeeKind::Processing, definition.processing_fee.as_ref(), true),
        ] {
            if let Some(fee) = fee {
                let (categories, amount) = (category.clone(), usd(fee));
                lines.push(FeeLine {
                    kind,
                    categories,
                    membership: None,
                    amount,
                    payee: Payee::Association,
                    refundable,
                });
            }
        }
    }
    if let Some(fee) = &version.exam_fee {
        let amount = usd(fee);
        lines.push(FeeLine {
            kind: FeeKind::Exam,
            categories: Vec::new(),
            membership: None,
            amount,
            payee: Payee::Alliance,
            refundable: false,
        });
    }
    lines
}

/// A movement of money against one charge (cents, positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    Payment(i64),
    /// A waiver in full or a reduction: the applicant owes that much less.
    Waiver(i64),
    Refund(i64),
}

/// Why a movement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerRefusal {
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("only {outstanding} cents are outstanding")]
    MoreThanOutstanding { outstanding: i64 },
    #[error("only {net} cents were paid and not refunded")]
    MoreThanPaid { net: i64 },
    #[error("this fee is not refundable")]
    NotRefundable,
}

/// Where one charge stands: what was charged, paid, waived and refunded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChargeBalance {
    pub charged: i64,
    pub paid: i64,
    pub waived: i64,
    pub refunded: i64,
}

impl ChargeBalance {
    pub fn new(charged: i64) -> Self {
        ChargeBalance { charged, ..Default::default() }
    }

    /// What was paid and kept.
    pub fn net_paid(&self) -> i64 {
        self.paid - self.refunded
    }

    /// What the applicant still owes (never negative).
    pub fn outstanding(&self) -> i64 {
        (self.charged - self.waived - self.net_paid()).max(0)
    }

    /// What was paid beyond what is owed (a provider's payment arriving
    /// after a waiver): for staff to refund.
    pub fn credit(&self) -> i64 {
        (self.net_paid() - (self.charged - self.waived)).max(0)
    }

    pub fn settled(&self) -> bool {
        self.outstanding() == 0
    }

    /// Whether staff may record `movement`: a payment or waiver of at most
    /// what is outstanding, a refund of at most what was paid and kept, of
    /// a refundable fee.
    pub fn check(&self, movement: Movement, refundable: bool) -> Result<(), LedgerRefusal> {
        let (Movement::Payment(cents) | Movement::Waiver(cents) | Movement::Refund(cents)) = movement;
        if cents <= 0 {
            return Err(LedgerRefusal::NotPositive);
        }
        match movement {
            Movement::Payment(_) | Movement::Waiver(_) if cents > self.outstanding() => {
                Err(LedgerRefusal::MoreThanOutstanding { outstanding: self.outstanding() })
            }
            Movement::Refund(_) if !refundable => Err(LedgerRefusal::NotRefundable),
            Movement::Refund(_) if cents > self.net_paid() => Err(LedgerRefusal::MoreThanPaid { net: self.net_paid() }),
            _ => Ok(()),
        }
    }

    /// Adds `movement` (checked or not: money a provider reports as paid
    /// was paid).
    pub fn apply(&mut self, movement: Movement) {
        match movement {
            Movement::Payment(cents) => self.paid += cents,
            Movement::Waiver(cents) => self.waived += cents,
            Movement::Refund(cents) => self.refunded += cents,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn nys() -> FeeSchedule {
        FeeSchedule::compose(Some(&Rulebook::nys_aimh()), &FeeSchedule::nys_aimh_memberships())
    }

    #[test]
    fn the_nys_aimh_schedule_is_as_published() {
        let fees = nys();
        fees.check().unwrap();
        let on = day(2026, 6, 1);
        let fee = |kind, category| fees.fee(kind, Some(category), None, on).map(|line| line.amount);
        assert_eq!(fee(FeeKind::Registration, Category::FamilyAssociate), Some(Money::usd(15)));
        assert_eq!(fee(FeeKind::Registration, Category::FamilySpecialist), Some(Money::usd(15)));
        assert_eq!(fee(FeeKind::Registration, Category::MentalHealthSpecialist), Some(Money::usd(25)));
        assert_eq!(fee(FeeKind::Registration, Category::MentorPolicy), Some(Money::usd(25)));
        assert_eq!(fee(FeeKind::Processing, Category::FamilyAssociate), Some(Money::usd(25)));
        assert_eq!(fee(FeeKind::Processing, Category::FamilySpecialist), Some(Money::usd(100)));
        assert_eq!(fee(FeeKind::Processing, Category::MentalHealthSpecialist), Some(Money::usd(300)));
        assert_eq!(fee(FeeKind::Processing, Category::MentorClinical), Some(Money::usd(400)));
        // The ERS add-on has no fee in the schedule: none is charged.
        assert_eq!(fee(FeeKind::Registration, Category::ReflectiveSupervisor), None);
        assert_eq!(fee(FeeKind::Processing, Category::ReflectiveSupervisor), None);
        let member = |kind| fees.fee(FeeKind::Membership, None, Some(kind), on).map(|line| line.amount);
        assert_eq!(member(MembershipType::Individual), Some(Money::usd(50)));
        assert_eq!(member(MembershipType::TwoYear), Some(Money::usd(90)));
        assert_eq!(member(MembershipType::Student), Some(Money::usd(30)));
        assert_eq!(member(MembershipType::Organisational), Some(Money::usd(200)));
        assert_eq!(member(MembershipType::OrganisationalTwoYear), Some(Money::usd(350)));
        assert!(!fees.fee(FeeKind::Registration, Some(Category::FamilyAssociate), None, on).unwrap().refundable);
    }

    #[test]
    fn the_exam_fee_rose_on_the_first_of_2025() {
        let fees = nys();
        let exam = |on| fees.fee(FeeKind::Exam, Some(Category::MentorClinical), None, on).map(|l| (l.amount, l.payee));
        assert_eq!(exam(day(2024, 12, 31)), Some((Money::usd(200), Payee::Alliance)));
        assert_eq!(exam(day(2025, 1, 1)), Some((Money::usd(240), Payee::Alliance)));
        assert_eq!(fees.fee(FeeKind::Exam, None, None, day(2016, 12, 31)), None, "before the first version");
    }

    #[test]
    fn the_schedule_changes_whenever_either_source_does() {
        let ct = Rulebook::from_json("ct", include_str!("../../rulebooks/ct-aimh.json")).unwrap();
        let mut others = nys().versions[0].clone();
        others.lines.retain(|line| line.kind == FeeKind::Membership);
        others.effective_from = day(2024, 7, 1);
        let fees = FeeSchedule::compose(Some(&ct), &FeeSchedule { versions: vec![others] });
        fees.check().unwrap();
        let starts: Vec<NaiveDate> = fees.versions.iter().map(|v| v.effective_from).collect();
        assert_eq!(starts, [day(2017, 1, 1), day(2024, 1, 1), day(2024, 7, 1), day(2025, 1, 1)]);
        let member = |on| fees.fee(FeeKind::Membership, None, Some(MembershipType::Student), on).map(|l| l.amount);
        assert_eq!(member(day(2024, 6, 30)), None);
        assert_eq!(member(day(2024, 7, 1)), Some(Money::usd(30)));
        assert_eq!(member(day(2026, 1, 1)), Some(Money::usd(30)), "kept across the rulebook's next version");
        let without_rules = FeeSchedule::compose(None, &FeeSchedule::default());
        assert!(without_rules.versions.is_empty(), "no rules, no fees: nothing is charged");
    }

    #[test]
    fn money_reads_as_dollars_and_cents() {
        assert_eq!(Money::usd(15).to_string(), "$15.00");
        assert_eq!(Money { cents: 1505, currency: Currency::Usd }.to_string(), "$15.05");
        assert_eq!(Money { cents: -7, currency: Currency::Usd }.to_string(), "-$0.07");
    }

    #[test]
    fn schedules_that_cannot_be_read_one_way_are_refused() {
        let mut fees = nys();
        fees.versions.swap(0, 1);
        assert!(fees.check().is_err(), "descending");
        let mut fees = nys();
        let twice = fees.versions[0].lines[0].clone();
        fees.versions[0].lines.push(twice);
        assert!(fees.check().unwrap_err().0.contains("twice"));
        let mut fees = nys();
        fees.versions[1].lines[0].amount.cents = -1;
        assert!(fees.check().is_err(), "negative");
    }

    #[test]
    fn a_registration_fee_is_never_refunded_and_waivers_stop_at_what_is_owed() {
        let mut balance = ChargeBalance::new(1500);
        balance.check(Movement::Waiver(1000), false).unwrap();
        balance.apply(Movement::Waiver(1000));
        assert_eq!(balance.outstanding(), 500);
        assert_eq!(
            balance.check(Movement::Payment(600), false),
            Err(LedgerRefusal::MoreThanOutstanding { outstanding: 500 })
        );
        balance.apply(Movement::Payment(500));
        assert!(balance.settled());
        assert_eq!(balance.check(Movement::Refund(100), false), Err(LedgerRefusal::NotRefundable));
        assert_eq!(balance.check(Movement::Refund(600), true), Err(LedgerRefusal::MoreThanPaid { net: 500 }));
        assert_eq!(balance.check(Movement::Payment(0), true), Err(LedgerRefusal::NotPositive));
    }

    #[test]
    fn a_provider_payment_after_a_waiver_is_a_credit() {
        let mut balance = ChargeBalance::new(2500);
        balance.apply(Movement::Waiver(2500));
        balance.apply(Movement::Payment(2500));
        assert_eq!((balance.outstanding(), balance.credit()), (0, 2500));
    }

    fn movement() -> impl Strategy<Value = Movement> {
        prop_oneof![
            (-10i64..5000).prop_map(Movement::Payment),
            (-10i64..5000).prop_map(Movement::Waiver),
            (-10i64..5000).prop_map(Movement::Refund),
        ]
    }

    fn category() -> impl Strategy<Value = Category> {
        proptest::sample::select(Category::ALL)
    }

    proptest! {
        /// Whatever staff try, in any order, the checked movements keep a
        /// charge consistent: nothing owed below zero, no credit, refunds
        /// within payments, and owed + kept + waived = charged.
        #[test]
        fn checked_movements_keep_a_charge_whole(
            charged in 0i64..100_000,
            refundable: bool,
            tries in proptest::collection::vec(movement(), 0..40),
        ) {
            let mut balance = ChargeBalance::new(charged);
            for movement in tries {
                if balance.check(movement, refundable).is_ok() {
                    balance.apply(movement);
                }
                prop_assert!(balance.outstanding() >= 0);
                prop_assert_eq!(balance.credit(), 0);
                prop_assert!(balance.refunded <= balance.paid);
                prop_assert!(refundable || balance.refunded == 0);
                prop_assert_eq!(balance.outstanding() + balance.net_paid() + balance.waived, charged);
            }
        }

        /// The fee on a day is the one of the latest version in force that
        /// day, for every category and kind.
        #[test]
        fn the_fee_charged_is_the_one_in_force_that_day(days in 0i64..5000, category in category(), kind in proptest::sample::select(FeeKind::ALL)) {
            let fees = nys();
            let on = day(2016, 6, 1) + chrono::Days::new(days as u64);
            let expected = fees
                .versions
                .iter()
                .filter(|version| version.effective_from <= on)
                .max_by_key(|version| version.effective_from)
                .and_then(|version| version.lines.iter().find(|line| line.applies(kind, Some(category), None)));
            prop_assert_eq!(fees.fee(kind, Some(category), None, on), expected);
            if on < day(2017, 1, 1) {
                prop_assert!(fees.fee(kind, Some(category), None, on).is_none());
            }
        }
    }
}
