//! Removes what interrupted uploads leave behind:
//!
//! - abandoned records (see [`Abandoned`]) with their objects, each by a
//!   conditional delete, so a record that a completion claimed or settled
//!   after it was listed is never touched;
//! - objects under `evidence/` without a record (a crash between S3 and
//!   MongoDB, a failed delete) and objects under `staging/` whose record no
//!   longer waits for them (copied already, or PUT again with a used URL);
//! - multipart uploads that were never completed nor aborted.
//!
//! Objects and uploads younger than the grace period are left alone: their
//! upload may still be in flight. The bucket is read a page at a time and
//! each page's records are looked up with one bounded query.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use mongodb::bson::{DateTime, oid::ObjectId};

use crate::blob::BlobError;
use crate::blob::keys::{self, FINAL, STAGING, evidence_id_of};
use crate::domain::model::EvidenceStatus;
use crate::services::Services;
use crate::store::evidence::{Abandoned, EvidenceRecord, EvidenceSweep};

/// Objects per listing page, records per lookup and per batch of deletions.
pub const PAGE_SIZE: usize = 1000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_records: usize,
    pub orphan_objects: usize,
    pub staging_objects: usize,
    /// None if the S3 server cannot list multipart uploads.
    pub aborted_uploads: Option<usize>,
}

impl SweepReport {
    /// Nothing was removed or aborted.
    pub fn is_empty(&self) -> bool {
        self.expired_records + self.orphan_objects + self.staging_objects + self.aborted_uploads.unwrap_or(0) == 0
    }
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "swept {} expired uploads, {} orphaned objects and {} staging objects; ",
            self.expired_records, self.orphan_objects, self.staging_objects
        )?;
        match self.aborted_uploads {
            Some(count) => write!(f, "aborted {count} stale multipart uploads"),
            None => write!(f, "multipart uploads not checked (the S3 server cannot list them)"),
        }
    }
}

/// Whether an object is still needed, given its record's status (None:
/// no record, or a key that names none).
fn needed(key: &str, record: Option<EvidenceStatus>) -> bool {
    match record {
        None => false,
        // A direct upload's bytes wait in staging until completion copies them.
        Some(EvidenceStatus::PendingUpload | EvidenceStatus::Verifying) => true,
        Some(_) => !keys::is_staging(key),
    }
}

/// Older than `cutoff`. An object without a date is treated as old (it is
/// removed only when no record needs it); an upload without one is not
/// (aborting one in flight would fail it).
fn older(time: Option<SystemTime>, cutoff: SystemTime, unknown: bool) -> bool {
    time.map_or(unknown, |t| t <= cutoff)
}

pub async fn sweep(services: &Services, grace: Duration) -> anyhow::Result<SweepReport> {
    sweep_paged(services, grace, PAGE_SIZE).await
}

/// [`sweep`] with pages (and lookups, and deletion batches) of `page_size`.
pub async fn sweep_paged(services: &Services, grace: Duration, page_size: usize) -> anyhow::Result<SweepReport> {
    let evidence = &services.evidence_sweep().map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
    let when = Abandoned::at(DateTime::now(), grace);
    let expired_records = remove_abandoned(services, evidence, &when, page_size).await?;
    let cutoff = SystemTime::now() - grace;
    let orphan_objects = remove_unneeded(services, evidence, FINAL, cutoff, page_size).await?;
    let staging_objects = remove_unneeded(services, evidence, STAGING, cutoff, page_size).await?;
    let aborted_uploads = abort_stale_uploads(services, cutoff).await?;
    Ok(SweepReport { expired_records, orphan_objects, staging_objects, aborted_uploads })
}

async fn remove_abandoned(
    services: &Services,
    evidence: &EvidenceSweep,
    when: &Abandoned,
    batch: usize,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    loop {
        let records = evidence.abandoned(when, batch as i64).await?;
        let mut progress = false;
        for record in &records {
            if remove_if_abandoned(services, record, when).await? {
                removed += 1;
                progress = true;
            }
        }
        // Removed records no longer match, so the next batch is new ones;
        // a batch where nothing could be removed ends the run (next sweep).
        if records.len() < batch || !progress {
            return Ok(removed);
        }
    }
}

/// Removes `record`, as listed earlier, if it is still abandoned `when`:
/// the record first, by a conditional delete, then (only if that deleted
/// it) its objects. True if it was removed.
pub async fn remove_if_abandoned(
    services: &Services,
    record: &EvidenceRecord,
    when: &Abandoned,
) -> anyhow::Result<bool> {
    let evidence = services.evidence_sweep().map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
    if !evidence.delete_if_abandoned(record.id, when).await? {
        return Ok(false);
    }
    // If S3 fails here, the objects are orphans for the next run.
    for key in record.keys() {
        services.blob.delete(&key).await?;
    }
    Ok(true)
}

/// Deletes the objects under `prefix` older than `cutoff` that no record needs.
async fn remove_unneeded(
    services: &Services,
    evidence: &EvidenceSweep,
    prefix: &str,
    cutoff: SystemTime,
    page_size: usize,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    let mut token = None;
    loop {
        let page = services.blob.list_page(prefix, token, page_size as i32).await?;
        let ids: HashSet<ObjectId> = page.items.iter().filter_map(|o| evidence_id_of(&o.key)).collect();
        let statuses = evidence.statuses(&ids.into_iter().collect::<Vec<_>>()).await?;
        for object in &page.items {
            let status = evidence_id_of(&object.key).and_then(|id| statuses.get(&id).copied());
            if !needed(&object.key, status) && older(object.last_modified, cutoff, true) {
                services.blob.delete(&object.key).await?;
                removed += 1;
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(removed),
        }
    }
}

/// Aborts multipart uploads started before `cutoff` (a crash mid-upload
/// leaves their parts stored, invisible to listings). None if the server
/// cannot list them: configure an AbortIncompleteMultipartUpload lifecycle
/// rule on such buckets instead.
async fn abort_stale_uploads(services: &Services, cutoff: SystemTime) -> anyhow::Result<Option<usize>> {
    let mut aborted = 0;
    for prefix in [FINAL, STAGING] {
        let mut marker = None;
        loop {
            let page = match services.blob.list_open_uploads(prefix, marker).await {
                Ok(page) => page,
                Err(BlobError::Unsupported(what)) => {
                    tracing::warn!(%what, "the S3 server cannot list multipart uploads; none were aborted");
                    return Ok(None);
                }
                Err(error) => return Err(error.into()),
            };
            for upload in page.items.iter().filter(|u| older(u.initiated, cutoff, false)) {
                services.blob.abort_upload(&upload.key, &upload.upload_id).await?;
                aborted += 1;
            }
            match page.next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
    }
    Ok(Some(aborted))
}

/// Sweeps every `interval` until aborted (inside `serve`, when configured).
pub fn spawn_periodic(services: Services, interval: Duration, grace: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match sweep(&services, grace).await {
                Ok(report) if !report.is_empty() => tracing::info!(%report, "evidence sweep"),
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "evidence sweep failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_objects_are_needed_only_until_completion() {
        use EvidenceStatus::*;
        for waiting in [PendingUpload, Verifying] {
            assert!(needed("staging/p/e/original", Some(waiting)));
            assert!(needed("evidence/p/e/original", Some(waiting)));
        }
        for settled in [Uploaded, Verified, Rejected] {
            assert!(!needed("staging/p/e/original", Some(settled)));
            assert!(needed("evidence/p/e/original", Some(settled)));
        }
        assert!(!needed("evidence/p/e/original", None));
    }

    #[test]
    fn only_uploads_known_to_be_old_are_aborted() {
        let cutoff = SystemTime::now() - Duration::from_secs(3600);
        assert!(older(Some(cutoff - Duration::from_secs(1)), cutoff, false));
        assert!(!older(Some(cutoff + Duration::from_secs(1)), cutoff, false));
        assert!(!older(None, cutoff, false), "an upload without a start time may be in flight");
        assert!(older(None, cutoff, true));
    }
}
