//! The outbox worker: delivers queued mail over SMTP and queues due
//! reminders. Every instance runs one. A message is claimed with a lease,
//! so two instances never send it at once; a transient failure is retried
//! with exponential backoff, a permanent one (or the last attempt) marks it
//! dead, and a dead reference-request mail shows as BOUNCED. Links are put
//! in at send time, derived from the link key (see `references::link`).

use std::time::Duration;

use mongodb::bson::DateTime;

use super::error::AppResult;
use super::references::{link, reminders};
use crate::mail::templates::LINK_PLACEHOLDER;
use crate::mail::{MailError, Mailer, Outgoing};
use crate::services::Services;
use crate::store::outbox::OutboxMessage;

/// How long a claim holds: far longer than one SMTP conversation.
const LEASE: Duration = Duration::from_secs(120);
/// How often the renewal sweep runs (lapses, renewal reminders).
const RENEWAL_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Longest wait between two attempts at one message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The wait before attempt `attempts + 1`: the base, doubled per attempt.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

/// Runs until the task is aborted.
pub fn spawn(services: Services, mailer: Option<Mailer>) -> tokio::task::JoinHandle<()> {
    let owner = format!("endorse-{}", uuid::Uuid::new_v4().simple());
    if mailer.is_none() {
        tracing::warn!("ENDORSE_SMTP_URL is not set: mail is queued in the outbox and sent once it is");
    }
    tokio::spawn(async move {
        let poll = Duration::from_millis(services.config.mail.outbox_poll_ms);
        let mut last_renewal_sweep: Option<std::time::Instant> = None;
        loop {
            if services.health.mongo_available() {
                if let Err(error) = reminders::send_due(&services).await {
                    tracing::warn!(error = ?error, "reminders not queued this round");
                }
                // Deadlines are days: a pass a minute is plenty, except
                // while a development clock is being moved.
                let sweep_due = last_renewal_sweep.is_none_or(|at| at.elapsed() >= RENEWAL_SWEEP_EVERY)
                    || !services.tenants.clock().is_real();
                if sweep_due {
                    last_renewal_sweep = Some(std::time::Instant::now());
                    if let Err(error) = super::renewals::sweep::run(&services).await {
                        tracing::warn!(error = ?error, "renewal deadlines and reminders not swept this round");
                    }
                }
                if let Some(mailer) = &mailer {
                    deliver_due(&services, mailer, &owner).await;
                }
                if crate::telemetry::metrics::installed() {
                    count_backlog(&services).await;
                }
            }
            tokio::select! {
                () = services.outbox_wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// The outbox gauges, from the collection (every instance sees all mail).
async fn count_backlog(services: &Services) {
    use crate::telemetry::metrics::{OUTBOX_DEAD, OUTBOX_PENDING};
    let Ok(outbox) = services.outbox() else { return };
    if let Ok(backlog) = outbox.backlog().await {
        metrics::gauge!(OUTBOX_PENDING).set(backlog.pending as f64);
        metrics::gauge!(OUTBOX_DEAD).set(backlog.dead as f64);
    }
}

/// Sends every message whose time has come, one at a time.
async fn deliver_due(services: &Services, mailer: &Mailer, owner: &str) {
    let Ok(outbox) = services.outbox() else { return };
    loop {
        let message = match outbox.claim(owner, LEASE).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(error = %error, "could not claim outbox mail");
                return;
            }
        };
        if let Err(error) = deliver(services, mailer, owner, &message).await {
            // The lease runs out and another attempt follows.
            tracing::warn!(error = ?error, message = %message.id, "outbox bookkeeping failed");
        }
    }
}

/// The bodies with the link in place (none stored), the sender's name.
fn finished(services: &Services, message: &OutboxMessage) -> (String, String) {
    match &message.link {
        Some(carried) => {
            let token = link::token(services.config.link_secret(), &carried.request_id.to_hex(), &carried.nonce);
            let url = link::url(&services.config.public_url(), &token);
            (message.text.replace(LINK_PLACEHOLDER, &url), message.html.replace(LINK_PLACEHOLDER, &url))
        }
        None => (message.text.clone(), message.html.clone()),
    }
}

async fn deliver(services: &Services, mailer: &Mailer, owner: &str, message: &OutboxMessage) -> AppResult<()> {
    let outbox = services.outbox()?;
    let sender = match services.tenants.get(&message.association).await {
        Ok(Some(tenant)) => tenant.association.name.clone(),
        _ => message.association.to_string(),
    };
    let (text, html) = finished(services, message);
    let id = message.id.to_hex();
    let outgoing = Outgoing {
        id: &id,
        sender_name: &sender,
        to_name: &message.to_name,
        to_address: &message.to_address,
        subject: &message.subject,
        text,
        html,
    };
    let started = std::time::Instant::now();
    let result = mailer.send(&outgoing).await;
    let outcome = match &result {
        Ok(()) => "SENT",
        Err(MailError::Transient(_)) => "RETRY",
        Err(MailError::Permanent(_)) => "DEAD",
    };
    metrics::histogram!(crate::telemetry::metrics::MAIL_SEND_SECONDS, "kind" => message.kind.clone(), "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    let max_attempts = services.config.mail.outbox_max_attempts;
    match result {
        Ok(()) => {
            tracing::info!(message = %message.id, kind = %message.kind, attempts = message.attempts, "mail sent");
            outbox.mark_sent(message.id, owner).await?;
        }
        Err(MailError::Transient(error)) if message.attempts < max_attempts => {
            let wait = backoff(Duration::from_millis(services.config.mail.outbox_retry_ms), message.attempts);
            let next = DateTime::from_millis(DateTime::now().timestamp_millis() + wait.as_millis() as i64);
            tracing::warn!(message = %message.id, attempts = message.attempts, retry_in_ms = wait.as_millis() as u64, error = %error, "mail not sent; will retry");
            outbox.retry_at(message.id, owner, next, &error).await?;
        }
        Err(error) => {
            tracing::error!(message = %message.id, kind = %message.kind, attempts = message.attempts, error = %error, "mail given up");
            outbox.mark_dead(message, owner, &error.to_string()).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 4), base * 8);
        assert_eq!(backoff(base, 50), MAX_BACKOFF);
        assert_eq!(backoff(base, 0), base);
    }
}
