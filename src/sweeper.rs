//! Removes what an interrupted upload can leave behind: PENDING_UPLOAD
//! records past their expiry (with their objects), and objects under
//! `evidence/` that have no record (a crash between the S3 write and the
//! MongoDB write, or a failed delete). Objects younger than the grace period
//! are left alone: their upload may still be in flight.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use mongodb::bson::{DateTime, oid::ObjectId};

use crate::services::Services;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_records: usize,
    pub orphan_objects: usize,
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "swept {} expired uploads and {} orphaned objects", self.expired_records, self.orphan_objects)
    }
}

/// The evidence id in a key "evidence/<portfolio>/<evidence>/<file>".
fn evidence_id_of(key: &str) -> Option<ObjectId> {
    let mut parts = key.split('/');
    (parts.next() == Some("evidence")).then_some(())?;
    parts.next()?;
    ObjectId::parse_str(parts.next()?).ok()
}

pub async fn sweep(services: &Services, grace: Duration) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    let evidence = services.evidence_store().map_err(|_| anyhow::anyhow!("MongoDB is unavailable"))?;
    for record in evidence.expired_pending(DateTime::now()).await? {
        for key in record.keys() {
            services.blob.delete(&key).await?;
        }
        evidence.delete(record.id).await?;
        report.expired_records += 1;
    }
    let objects = services.blob.list("evidence/").await?;
    let ids: Vec<ObjectId> =
        objects.iter().filter_map(|o| evidence_id_of(&o.key)).collect::<HashSet<_>>().into_iter().collect();
    let known = evidence.existing(&ids).await?;
    let cutoff = SystemTime::now() - grace;
    for object in objects {
        let orphan = match evidence_id_of(&object.key) {
            Some(id) => !known.contains(&id),
            None => true,
        };
        let old_enough = object.last_modified.is_none_or(|t| t <= cutoff);
        if orphan && old_enough {
            services.blob.delete(&object.key).await?;
            report.orphan_objects += 1;
        }
    }
    Ok(report)
}

/// Sweeps every `interval` until aborted (inside `serve`, when configured).
pub fn spawn_periodic(services: Services, interval: Duration, grace: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match sweep(&services, grace).await {
                Ok(report) if report != SweepReport::default() => tracing::info!(%report, "evidence sweep"),
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
    fn keys_name_their_evidence() {
        let id = ObjectId::new();
        assert_eq!(evidence_id_of(&format!("evidence/p/{}/original", id.to_hex())), Some(id));
        assert_eq!(evidence_id_of("evidence/p/not-an-id/original"), None);
        assert_eq!(evidence_id_of("other/p/x"), None);
    }
}
