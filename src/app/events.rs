//! Live updates: what happens to a portfolio (status changed, a reference
//! submitted, evidence reviewed), pushed to those who may see it. The feed
//! is the database's change stream (see `store::events`), so an event
//! committed through any instance reaches subscribers of every instance.
//! One feed per instance, opened on the first subscription, fans out
//! through a bounded broadcast: a subscriber that falls behind by more than
//! [`BUFFER`] events is told to resync instead of slowing anyone down, and
//! so is everyone when the feed had to be reopened without its place.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::Stream;
use mongodb::bson::{DateTime, oid::ObjectId};
use tokio::sync::broadcast;

use super::Actor;
use super::error::{AppError, AppResult};
use crate::domain::association::AssociationCode;
use crate::domain::model::PortfolioEventKind;
use crate::services::Services;
use crate::store::audit::PortfolioEvent;
use crate::store::events::{Committed, Feed};
use crate::store::portfolio::Projection;

/// Events one subscriber may be behind before it is told to resync.
pub const BUFFER: usize = 256;
/// Wait before reopening a feed that failed.
const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// What the broadcast carries: an event, or "everyone resync".
#[derive(Debug, Clone)]
enum Broadcast {
    Event(Arc<Committed>),
    Resync,
}

/// The instance's fan-out of the feed.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Broadcast>,
    started: Arc<AtomicBool>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub { sender: broadcast::channel(BUFFER).0, started: Arc::new(AtomicBool::new(false)) }
    }
}

/// One event as a subscriber receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub kind: PortfolioEventKind,
    pub portfolio_id: ObjectId,
    pub at: DateTime,
    pub status: Option<String>,
    pub subject_id: Option<ObjectId>,
}

impl Delivered {
    fn resync(portfolio_id: ObjectId) -> Self {
        Delivered {
            kind: PortfolioEventKind::Resync,
            portfolio_id,
            at: DateTime::now(),
            status: None,
            subject_id: None,
        }
    }
}

impl EventHub {
    /// Opens the feed once per instance, and keeps it open: a failed feed
    /// is reopened where it stopped, or (without a place) with a resync.
    fn ensure_feed(&self, services: &Services) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let sender = self.sender.clone();
        let services = services.clone();
        tokio::spawn(async move {
            let mut resume = None;
            loop {
                let store = services.store_unchecked();
                match Feed::open(store, resume.clone()).await {
                    Ok(mut feed) => {
                        while let Some(next) = feed.next().await {
                            match next {
                                Ok(committed) => {
                                    // No receivers is not an error: nobody listens now.
                                    let _ = sender.send(Broadcast::Event(Arc::new(committed)));
                                    resume = feed.resume_token();
                                }
                                Err(error) => {
                                    tracing::warn!(error = %error, "portfolio event feed failed; reopening");
                                    break;
                                }
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "portfolio event feed could not be opened");
                        // Where it would have resumed may be gone: start afresh.
                        resume = None;
                        let _ = sender.send(Broadcast::Resync);
                    }
                }
                tokio::time::sleep(REOPEN_AFTER).await;
            }
        });
    }
}

/// The events of one portfolio for a caller who may see it (its owner,
/// reviewers of submitted portfolios, coordinators, admins): NOT_FOUND
/// otherwise, exactly as if it did not exist.
pub async fn subscribe(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
) -> AppResult<impl Stream<Item = Delivered> + Send + 'static + use<>> {
    let visible = super::portfolios::find(services, actor, portfolio_id, &Projection::only(["ownerId"])).await?;
    visible.ok_or_else(|| AppError::not_found("Portfolio"))?;
    let hub = &services.events;
    // Subscribe before the feed starts, so that nothing committed from
    // here on is missed.
    let receiver = hub.sender.subscribe();
    hub.ensure_feed(services);
    Ok(events_of(receiver, actor.tenant.code().clone(), portfolio_id))
}

/// The events of one portfolio from the broadcast; a RESYNC for what the
/// receiver missed (it lagged, or the feed lost its place).
fn events_of(
    receiver: broadcast::Receiver<Broadcast>,
    association: AssociationCode,
    portfolio_id: ObjectId,
) -> impl Stream<Item = Delivered> + Send + 'static {
    futures::stream::unfold(receiver, move |mut receiver| {
        let association = association.clone();
        async move {
            loop {
                match receiver.recv().await {
                    Ok(Broadcast::Event(committed)) => {
                        if committed.association == association && committed.event.portfolio_id == portfolio_id {
                            return Some((delivered(&committed.event, committed.at), receiver));
                        }
                    }
                    Ok(Broadcast::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Delivered::resync(portfolio_id), receiver));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    })
}

fn delivered(event: &PortfolioEvent, at: DateTime) -> Delivered {
    Delivered {
        kind: event.kind,
        portfolio_id: event.portfolio_id,
        at,
        status: event.status.clone(),
        subject_id: event.subject_id,
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn committed(association: &AssociationCode, portfolio_id: ObjectId, kind: PortfolioEventKind) -> Broadcast {
        let event = PortfolioEvent { portfolio_id, kind, status: None, subject_id: None };
        Broadcast::Event(Arc::new(Committed { association: association.clone(), at: DateTime::now(), event }))
    }

    #[tokio::test]
    async fn a_subscriber_gets_its_portfolio_only_and_a_resync_when_it_fell_behind() {
        let nys = AssociationCode::nys_aimh();
        let other = AssociationCode::parse("ct-aimh").unwrap();
        let (mine, theirs) = (ObjectId::new(), ObjectId::new());
        let (sender, receiver) = broadcast::channel(4);
        let mut events = Box::pin(events_of(receiver, nys.clone(), mine));
        sender.send(committed(&nys, theirs, PortfolioEventKind::StatusChanged)).unwrap();
        sender.send(committed(&other, mine, PortfolioEventKind::StatusChanged)).unwrap();
        sender.send(committed(&nys, mine, PortfolioEventKind::ReferenceSubmitted)).unwrap();
        let first = events.next().await.unwrap();
        assert_eq!((first.kind, first.portfolio_id), (PortfolioEventKind::ReferenceSubmitted, mine));
        // Ten more than the buffer holds arrive before it reads again.
        for _ in 0..10 {
            sender.send(committed(&nys, mine, PortfolioEventKind::EvidenceReviewed)).unwrap();
        }
        assert_eq!(events.next().await.unwrap().kind, PortfolioEventKind::Resync);
        assert_eq!(events.next().await.unwrap().kind, PortfolioEventKind::EvidenceReviewed);
        sender.send(Broadcast::Resync).unwrap();
        drop(sender);
        let rest: Vec<PortfolioEventKind> = events.map(|e| e.kind).collect().await;
        assert_eq!(rest.last(), Some(&PortfolioEventKind::Resync));
    }
}
