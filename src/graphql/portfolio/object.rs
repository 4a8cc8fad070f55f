//! The `Portfolio` type. It wraps a stored document that may have been
//! fetched with a projection: only the fields the query selected (see
//! [`super::projection`]) are present.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Context, ID, Json, Object};
use chrono::NaiveDate;

use super::eligibility::EligibilityObject;
use super::entries::*;
use crate::app::error::{AppError, AppResult};
use crate::app::evaluation::{self, ApplicantRecords};
use crate::app::evaluation_cache::{EvaluationKey, Question, StoredVersion};
use crate::app::page_sections::{Need, PageSections, Sections};
use crate::app::portfolios::parse_id;
use crate::app::records::{Applicant, PortfolioDocument};
use crate::app::{Actor, evidence, memberships};
use crate::domain::model::{Basis, Category, EvidenceRef, Portfolio, PortfolioStatus, Track};
use crate::domain::{self, Eligibility, EvaluationError};
use crate::graphql::context::services;
use crate::graphql::evidence::EvidenceObject;
use crate::graphql::in_order::InOrder;
use crate::graphql::scalars::{Date, DateTime};

/// A portfolio as one caller sees it (their association's rulebook and
/// calendar, their right to download).
pub struct PortfolioObject(pub Arc<PortfolioDocument>, pub Arc<Actor>, Computed);

/// What the computed fields of one portfolio share within a request: the
/// evidence is read once however many fields and aliases ask for basis
/// VERIFIED, and an evaluation asked for twice (aliases, or `eligibility`
/// after `recommendations`) is made once. Across requests, evaluations
/// are kept in [`crate::app::evaluation_cache`].
#[derive(Default)]
struct Computed {
    evidence: tokio::sync::OnceCell<Vec<EvidenceRef>>,
    /// The association's records of the applicant, read once.
    records: tokio::sync::OnceCell<ApplicantRecords>,
    evaluations: Mutex<HashMap<(Category, NaiveDate, Basis), Arc<Eligibility>>>,
    /// Set when the document was fetched without its sections, on a page
    /// that fetches them on first need.
    page: Option<Arc<PageSections>>,
    sections: tokio::sync::OnceCell<Arc<Sections>>,
}

impl Computed {
    fn evaluation(&self, key: &(Category, NaiveDate, Basis)) -> Option<Arc<Eligibility>> {
        self.evaluations.lock().ok()?.get(key).cloned()
    }

    fn keep(&self, evaluation: &Arc<Eligibility>) {
        if let Ok(mut kept) = self.evaluations.lock() {
            kept.insert((evaluation.category, evaluation.as_of, evaluation.basis), evaluation.clone());
        }
    }
}

impl PortfolioObject {
    pub fn new(document: impl Into<Arc<PortfolioDocument>>, actor: impl Into<Arc<Actor>>) -> Self {
        PortfolioObject(document.into(), actor.into(), Computed::default())
    }

    /// A portfolio of a page: fetched without its sections when `page` is
    /// given, with the applicant's records already read (a page reads them
    /// for all its portfolios at once).
    pub fn on_page(
        document: PortfolioDocument,
        actor: Arc<Actor>,
        records: ApplicantRecords,
        page: Option<Arc<PageSections>>,
    ) -> Self {
        let computed =
            Computed { records: tokio::sync::OnceCell::new_with(Some(records)), page, ..Computed::default() };
        PortfolioObject(Arc::new(document), actor, computed)
    }
}

/// A field the projection should have fetched is missing: a bug, not bad input.
fn missing(field: &str) -> AppError {
    AppError::internal(format!("portfolio field `{field}` was not fetched"))
}

impl PortfolioObject {
    fn default_as_of(&self) -> NaiveDate {
        self.0.default_as_of(self.1.tenant.today())
    }

    fn stored_version(&self) -> StoredVersion {
        StoredVersion { id: self.0.id, version: self.0.version }
    }

    async fn records(&self, ctx: &Context<'_>) -> AppResult<&ApplicantRecords> {
        self.2.records.get_or_try_init(|| evaluation::records(services(ctx), &self.1.tenant, &self.0)).await
    }

    /// The status of every evidence item (read only for basis VERIFIED).
    async fn evidence_statuses(&self, ctx: &Context<'_>) -> AppResult<&[EvidenceRef]> {
        let evidence = self
            .2
            .evidence
            .get_or_try_init(|| async {
                AppResult::Ok(services(ctx).evidence(&self.1.tenant)?.refs_for_portfolio(self.0.id).await?)
            })
            .await?;
        Ok(evidence)
    }

    /// The stored sections and the version they are of: the document's
    /// own, or on a page fetched without them, fetched now (see
    /// [`PageSections`]).
    async fn sections(&self, ctx: &Context<'_>, need: Need) -> AppResult<(i32, &Portfolio)> {
        let Some(page) = &self.2.page else { return Ok((self.0.version, &self.0.content)) };
        let sections = self.2.sections.get_or_try_init(|| page.of(services(ctx), self.0.id, need)).await?;
        Ok((sections.version, &sections.content))
    }

    /// The engine's input and the version it is of: the stored sections
    /// with the association's records of the applicant (see
    /// [`evaluation`]), plus, for basis VERIFIED, the status of every
    /// evidence item.
    async fn content_for(&self, ctx: &Context<'_>, basis: Basis, need: Need) -> AppResult<(i32, Cow<'_, Portfolio>)> {
        let records = self.records(ctx).await?;
        let (version, sections) = self.sections(ctx, need).await?;
        if basis == Basis::Claimed && records.is_empty() {
            return Ok((version, Cow::Borrowed(sections)));
        }
        let mut content = sections.clone();
        records.apply(&mut content);
        if basis == Basis::Verified {
            content.evidence = self.evidence_statuses(ctx).await?.to_vec();
        }
        Ok((version, Cow::Owned(content)))
    }

    /// The key under which the answer to `question` is kept.
    async fn evaluation_key(&self, ctx: &Context<'_>, question: Question) -> AppResult<EvaluationKey> {
        let records = self.records(ctx).await?;
        let evidence = if question.basis == Basis::Verified { self.evidence_statuses(ctx).await? } else { &[] };
        Ok(EvaluationKey::new(&self.1.tenant, self.stored_version(), question, records, evidence))
    }
}

fn evaluation_error(error: EvaluationError) -> AppError {
    AppError::bad_input("asOf", error.to_string())
}

#[Object(name = "Portfolio")]
impl PortfolioObject {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_hex())
    }
    /// The applicant's subject (JWT `sub`).
    async fn owner_id(&self) -> &str {
        &self.0.owner_id
    }
    async fn applicant(&self) -> AppResult<ApplicantObject<'_>> {
        self.0.applicant.as_ref().map(ApplicantObject).ok_or_else(|| missing("applicant"))
    }
    async fn track(&self) -> Track {
        self.0.content.track
    }
    async fn target_category(&self) -> Category {
        self.0.content.target_category
    }
    async fn status(&self) -> PortfolioStatus {
        self.0.status
    }
    /// Optimistic-concurrency version, +1 on every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> AppResult<DateTime> {
        self.0.created_at.map(DateTime::from).ok_or_else(|| missing("createdAt"))
    }
    async fn updated_at(&self) -> AppResult<DateTime> {
        self.0.updated_at.map(DateTime::from).ok_or_else(|| missing("updatedAt"))
    }
    async fn submitted_at(&self) -> Option<DateTime> {
        self.0.submitted_at.map(DateTime::from)
    }
    /// When reviewers first decided: returned, approved or endorsed it.
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(DateTime::from)
    }
    async fn endorsed_at(&self) -> Option<DateTime> {
        self.0.endorsed_at.map(DateTime::from)
    }
    /// The reviewer's note with the latest decision.
    async fn review_note(&self) -> Option<&str> {
        self.0.review_note.as_deref()
    }
    async fn education(&self) -> InOrder<EducationObject<'_>> {
        self.0.content.education.iter().map(EducationObject).collect()
    }
    async fn training(&self) -> InOrder<TrainingObject<'_>> {
        self.0.content.training.iter().map(TrainingObject).collect()
    }
    async fn work(&self) -> InOrder<WorkObject<'_>> {
        self.0.content.work.iter().map(WorkObject).collect()
    }
    async fn reflective_supervision(&self) -> InOrder<RscObject<'_>> {
        self.0.content.reflective_supervision.iter().map(RscObject).collect()
    }
    async fn leadership(&self) -> InOrder<LeadershipObject<'_>> {
        self.0.content.leadership.iter().map(LeadershipObject).collect()
    }
    /// The ratings that count toward eligibility (submitted by raters or
    /// imported), and any typed before raters filled forms themselves.
    async fn references(&self) -> InOrder<ReferenceObject<'_>> {
        let owner = crate::app::policy::is_subject_of(&self.1.viewer, &self.0.owner_id);
        self.0
            .content
            .references
            .iter()
            .map(|entry| ReferenceObject { entry, reveal: !owner || !entry.waived })
            .collect()
    }
    /// The association's membership records of the applicant (matched by
    /// email), latest first: what the membership requirement counts.
    async fn membership_records(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<crate::graphql::membership::MembershipRecordObject>> {
        let records = memberships::of_portfolio(services(ctx), &self.1.tenant, &self.0).await?;
        Ok(records.into_iter().map(Into::into).collect())
    }
    /// The review cycle its latest submission joined (Mental Health
    /// Specialist and Mentor portfolios; null while no cycle is open for it).
    async fn review_cycle(&self) -> Option<crate::graphql::round::ReviewCycle> {
        crate::graphql::round::cycle_of(self)
    }
    /// Every round of review, first first: reviewers, their reviews (for
    /// reviewers and staff) and outcomes.
    async fn review_rounds(&self, ctx: &Context<'_>) -> AppResult<Vec<crate::graphql::round::ReviewRound>> {
        crate::graphql::round::of_portfolio(ctx, self).await
    }
    /// The endorsement it earned, once endorsed.
    async fn endorsement(&self, ctx: &Context<'_>) -> AppResult<Option<crate::graphql::endorsement::Endorsement>> {
        crate::graphql::endorsement::of_portfolio(ctx, self).await
    }
    /// The advisers a coordinator connected to it.
    async fn advisers(&self, ctx: &Context<'_>) -> AppResult<Vec<crate::graphql::adviser::Assignment>> {
        crate::graphql::adviser::of_portfolio(ctx, self).await
    }
    /// What advisers, reviewers and coordinators said, oldest first: of one
    /// section, or all.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        section: Option<crate::domain::model::PortfolioSection>,
    ) -> AppResult<Vec<crate::graphql::adviser::Comment>> {
        crate::graphql::adviser::comments(ctx, self, section).await
    }
    /// Its registration for Endorsement; null for a portfolio started with
    /// `createPortfolio` and never registered.
    async fn registration(&self, ctx: &Context<'_>) -> AppResult<Option<crate::graphql::fees::Registration>> {
        crate::graphql::fees::registration(ctx, self).await
    }
    /// The fees charged for it, oldest first (its owner, COORDINATOR, ADMIN).
    async fn fees(&self, ctx: &Context<'_>) -> AppResult<Vec<crate::graphql::fees::FeeCharge>> {
        crate::graphql::fees::account(ctx, self).await
    }
    /// The ratings asked of raters, with their status, oldest first.
    async fn reference_requests(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<crate::graphql::reference::ReferenceRequestObject>> {
        crate::graphql::reference::for_portfolio(ctx, self).await
    }
    async fn exams(&self) -> InOrder<ExamObject<'_>> {
        self.0.content.exams.iter().map(ExamObject).collect()
    }
    async fn agreement(&self) -> Option<AgreementObject<'_>> {
        self.0.content.agreement.as_ref().map(AgreementObject)
    }
    async fn membership(&self) -> Option<MembershipObject<'_>> {
        self.0.content.membership.as_ref().map(MembershipObject)
    }
    async fn prior_endorsements(&self) -> InOrder<PriorEndorsementObject<'_>> {
        self.0.content.prior_endorsements.iter().map(PriorEndorsementObject).collect()
    }
    /// Professional mental-health licences (the "or a licence" degree option).
    async fn licenses(&self) -> InOrder<LicenseObject<'_>> {
        self.0.content.licenses.iter().map(LicenseObject).collect()
    }
    /// Association-specific extra fields, as given.
    async fn extra(&self) -> Option<Json<serde_json::Value>> {
        self.0.extra.as_ref().map(|extra| Json(mongodb::bson::Bson::Document(extra.clone()).into_relaxed_extjson()))
    }
    /// Evidence files uploaded for this portfolio, oldest first: `first`
    /// (at most `ENDORSE_MAX_PAGE_SIZE`) after the evidence id `after`.
    async fn evidence(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<ID>,
    ) -> AppResult<Vec<EvidenceObject>> {
        let services = services(ctx);
        let max = services.config.limits.max_page_size as i64;
        let limit = i64::from(first.unwrap_or(100)).clamp(0, max);
        let after = after.map(|id| parse_id("after", &id)).transpose()?;
        let records = evidence::page_for_portfolio(services, &self.1, self.0.id, after, limit).await?;
        Ok(records.into_iter().map(|record| EvidenceObject::new(record, self.1.clone())).collect())
    }
    /// Computed on demand, never stored. `category` defaults to the target
    /// category, `asOf` to the submission date (or today), `basis` to CLAIMED.
    async fn eligibility(
        &self,
        ctx: &Context<'_>,
        category: Option<Category>,
        as_of: Option<Date>,
        basis: Option<Basis>,
    ) -> AppResult<EligibilityObject> {
        let rulebook = self.1.tenant.rulebook("asOf")?;
        let basis = basis.unwrap_or(Basis::Claimed);
        let asked_as_of = as_of.map(|d| d.0);
        let question = Question {
            category: category.unwrap_or(self.0.content.target_category),
            as_of: asked_as_of.unwrap_or_else(|| self.default_as_of()),
            basis,
        };
        if let Some(kept) = self.2.evaluation(&(question.category, question.as_of, basis)) {
            return Ok(EligibilityObject(kept));
        }
        let kept = &services(ctx).evaluations;
        let key = self.evaluation_key(ctx, question).await?;
        let evaluation = match kept.get(&key) {
            Some(evaluation) => evaluation,
            None => {
                let need = match basis {
                    Basis::Claimed => Need::ClaimedEvaluation { category, as_of: asked_as_of },
                    Basis::Verified => Need::Everything,
                };
                let (version, content) = self.content_for(ctx, basis, need).await?;
                let evaluated =
                    domain::evaluate(&content, question.category, content.track, question.as_of, basis, rulebook)
                        .map_err(evaluation_error)?;
                let evaluation = Arc::new(evaluated);
                kept.keep(key.at_version(version), evaluation.clone());
                evaluation
            }
        };
        self.2.keep(&evaluation);
        Ok(EligibilityObject(evaluation))
    }
    /// Every category of the portfolio's track, best progress first.
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        basis: Option<Basis>,
    ) -> AppResult<Vec<EligibilityObject>> {
        let rulebook = self.1.tenant.rulebook("asOf")?;
        let basis = basis.unwrap_or(Basis::Claimed);
        let (version, content) = self.content_for(ctx, basis, Need::Everything).await?;
        let as_of = as_of.map_or_else(|| self.default_as_of(), |d| d.0);
        let ranked = domain::recommend(&content, content.track, as_of, basis, rulebook).map_err(evaluation_error)?;
        let mut objects = Vec::with_capacity(ranked.len());
        for evaluation in ranked {
            let evaluation = Arc::new(evaluation);
            let question = Question { category: evaluation.category, as_of, basis };
            let key = self.evaluation_key(ctx, question).await?.at_version(version);
            services(ctx).evaluations.keep(key, evaluation.clone());
            self.2.keep(&evaluation);
            objects.push(EligibilityObject(evaluation));
        }
        Ok(objects)
    }
}

pub struct ApplicantObject<'a>(&'a Applicant);

#[Object(name = "Applicant")]
impl ApplicantObject<'_> {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
}
