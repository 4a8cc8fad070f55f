//! Data for development and measurement: a few demo applicants whose
//! portfolios are in different states (fixed ids, upserts), and any number
//! of reproducible synthetic portfolios ([`synthetic`]).

pub mod synthetic;

use mongodb::bson::{DateTime, oid::ObjectId};

use crate::domain::association::AssociationCode;
use crate::domain::model::{Category, Portfolio, PortfolioStatus, Track, TrainingEntry, TrainingTopic};
use crate::domain::sample::{date, realistic_portfolio};
use crate::services::Services;
use crate::store::portfolio::{Applicant, PortfolioDocument, SCHEMA_VERSION};

/// An application error with its cause, for the command line (the API
/// masks causes; an operator running a command needs them).
fn cause(error: crate::app::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{error:?}")
}

/// The associations of the demo: the default one (NYS-AIMH) and CT-AIMH,
/// with its own rulebook, so that a new user sees tenancy at once.
pub const DEMO_ASSOCIATIONS: [&str; 2] = ["nys-aimh", "ct-aimh"];

/// The demo users `scripts/dev.sh` prints tokens for own these portfolios,
/// in each demo association.
pub async fn demo(services: &Services) -> anyhow::Result<String> {
    let mut lines = Vec::new();
    for (index, code) in DEMO_ASSOCIATIONS.into_iter().enumerate() {
        let code = AssociationCode::parse(code)?;
        services.tenants.ensure(&code).await?;
        let tenant = services
            .tenants
            .load(&code)
            .await
            .map_err(cause)?
            .ok_or_else(|| anyhow::anyhow!("{code} was not created"))?;
        let portfolios = services.portfolios(&tenant).map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
        let documents = demo_portfolios(&code, index as u8);
        for document in &documents {
            portfolios.upsert(document).await?;
        }
        let forms = services.tenants.store();
        if forms.latest_reference_form(&code).await?.is_none() {
            let revision = crate::store::associations::ReferenceFormRevision {
                id: mongodb::bson::oid::ObjectId::new(),
                association: code.clone(),
                revision: 1,
                // Neutral placeholders: an association's licensed items are its own data.
                form: crate::domain::reference::ReferenceForm::placeholder(),
                published_at: mongodb::bson::DateTime::now(),
                published_by: "seed".to_owned(),
            };
            forms.insert_reference_form(&revision).await?;
        }
        lines.push(format!(
            "demo data in {code}: {} portfolios (owners applicant-ada, applicant-ben, applicant-cy), a placeholder reference form",
            documents.len()
        ));
    }
    Ok(lines.join("\n"))
}

/// Writes `count` synthetic portfolios of `seed` (indexes `0..count`) and
/// their evidence records, `batch` at a time: generation on the blocking
/// pool overlaps the previous batch's insert. Re-running skips what exists.
pub async fn synthetic_batches(
    services: &Services,
    association: &AssociationCode,
    count: u64,
    seed: u64,
    batch: u64,
) -> anyhow::Result<String> {
    use futures::{StreamExt, TryStreamExt};
    let started = std::time::Instant::now();
    let tenant = services
        .tenants
        .get(association)
        .await
        .map_err(cause)?
        .ok_or_else(|| anyhow::anyhow!("there is no association {association}"))?;
    let portfolios = services.portfolios(&tenant).map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
    let evidence = services.evidence(&tenant).map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
    let code = association.clone();
    let batch = batch.max(1);
    let ranges = (0..count).step_by(batch as usize).map(move |start| start..(start + batch).min(count));
    // Two batches are generated ahead, but writes go one batch at a time:
    // concurrent inserts into one collection make some MongoDB-protocol
    // servers fail with write conflicts instead of retrying them.
    let (written, records) = futures::stream::iter(ranges)
        .map(|range| {
            let code = code.clone();
            tokio::task::spawn_blocking(move || {
                let mut documents = Vec::with_capacity(range.clone().count());
                let mut records = Vec::new();
                for index in range {
                    let (document, mut linked) = synthetic::portfolio(&code, seed, index);
                    documents.push(document);
                    records.append(&mut linked);
                }
                (documents, records)
            })
        })
        .buffered(2)
        .map_err(anyhow::Error::from)
        .try_fold((0, 0), |(written, stored), (documents, records)| {
            let (portfolios, evidence) = (portfolios.clone(), evidence.clone());
            async move {
                let written = written + portfolios.insert_new(&documents).await?;
                let stored = stored + evidence.insert_new(&records).await?;
                anyhow::Ok((written, stored))
            }
        })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(
        "synthetic data in {association}: {written} new portfolios and {records} evidence records (seed {seed}, {count} requested) \
         in {seconds:.1} s, {:.0} portfolios/s",
        count as f64 / seconds.max(0.001)
    ))
}

/// Demo portfolio `n` of the `tenant`-th demo association.
fn fixed_id(tenant: u8, n: u8) -> ObjectId {
    let mut bytes = [0u8; 12];
    bytes[0] = 0x64; // a timestamp in 2023, so demo ids sort like real ones
    bytes[10] = tenant;
    bytes[11] = n;
    ObjectId::from_bytes(bytes)
}

fn document(
    association: &AssociationCode,
    id: ObjectId,
    owner: &str,
    name: &str,
    status: PortfolioStatus,
    content: Portfolio,
) -> PortfolioDocument {
    let created = DateTime::from_chrono(date(2025, 1, 6).and_hms_opt(9, 0, 0).expect("valid time").and_utc());
    let submitted = (status != PortfolioStatus::Draft)
        .then(|| DateTime::from_chrono(date(2025, 6, 1).and_hms_opt(14, 30, 0).expect("valid time").and_utc()));
    PortfolioDocument {
        id,
        association: association.clone(),
        owner_id: owner.to_owned(),
        status,
        schema_version: SCHEMA_VERSION,
        version: 1,
        applicant: Some(Applicant {
            name: name.to_owned(),
            email: Some(format!("{}@example.org", owner.trim_start_matches("applicant-"))),
            region: Some("Hudson Valley".to_owned()),
        }),
        created_at: Some(created),
        updated_at: Some(submitted.unwrap_or(created)),
        submitted_at: submitted,
        decided_at: None,
        endorsed_at: None,
        review_note: None,
        extra: None,
        content,
    }
}

/// The demo portfolios of `association`, the `tenant`-th demo association
/// (ids differ between associations: they are unique per deployment).
pub fn demo_portfolios(association: &AssociationCode, tenant: u8) -> Vec<PortfolioDocument> {
    // A clinician's full portfolio, submitted for review.
    let mut clinician = realistic_portfolio();
    clinician.evidence.clear();
    strip_evidence_links(&mut clinician);

    // A family support worker who has only just started.
    let mut starter = Portfolio::new(Track::Infant, Category::FamilyAssociate);
    starter.training.push(TrainingEntry {
        id: "demo-training-1".into(),
        title: "Foundations of infant mental health".into(),
        provider: Some("NYS-AIMH".into()),
        hours: 12.0,
        completed_on: date(2025, 3, 14),
        topics: vec![TrainingTopic::Iecmh],
        evidence_ids: Vec::new(),
    });

    // An early-childhood portfolio sent back for revision.
    let mut returned = realistic_portfolio();
    returned.evidence.clear();
    strip_evidence_links(&mut returned);
    returned.track = Track::EarlyChildhood;
    returned.target_category = Category::FamilySpecialist;
    returned.reflective_supervision.truncate(10);

    let a = association;
    vec![
        document(a, fixed_id(tenant, 1), "applicant-ada", "Ada Alvarez", PortfolioStatus::Draft, starter),
        document(a, fixed_id(tenant, 2), "applicant-ben", "Ben Okafor", PortfolioStatus::Submitted, clinician),
        document(a, fixed_id(tenant, 3), "applicant-cy", "Cy Park", PortfolioStatus::Returned, returned),
    ]
}

/// A submitted copy of the realistic sample portfolio (benchmarks, tests):
/// 5 education, 60 training, 8 work, 60 RS/C and 4 reference entries.
pub fn realistic_submitted(association: &AssociationCode, n: usize) -> PortfolioDocument {
    let now = DateTime::now();
    PortfolioDocument {
        id: ObjectId::new(),
        association: association.clone(),
        owner_id: format!("applicant-{n}"),
        status: PortfolioStatus::Submitted,
        schema_version: SCHEMA_VERSION,
        version: 1,
        applicant: Some(Applicant { name: format!("Applicant {n}"), email: None, region: None }),
        created_at: Some(now),
        updated_at: Some(now),
        submitted_at: Some(now),
        decided_at: None,
        endorsed_at: None,
        review_note: None,
        extra: None,
        content: realistic_portfolio(),
    }
}

/// Demo portfolios have no uploaded evidence, so entries link none.
fn strip_evidence_links(p: &mut Portfolio) {
    p.education.iter_mut().for_each(|e| e.evidence_ids.clear());
    p.training.iter_mut().for_each(|e| e.evidence_ids.clear());
    p.work.iter_mut().for_each(|e| e.evidence_ids.clear());
    p.reflective_supervision.iter_mut().for_each(|e| e.evidence_ids.clear());
    p.exams.iter_mut().for_each(|e| e.evidence_ids.clear());
    p.licenses.iter_mut().for_each(|e| e.evidence_ids.clear());
    if let Some(agreement) = &mut p.agreement {
        agreement.evidence_ids.clear();
    }
}
