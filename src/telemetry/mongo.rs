//! MongoDB command latencies (and, when traces are exported, a span per
//! command) from the driver's command events: one hook sees every call
//! the store makes, whichever collection and method.
//!
//! Events carry the command and its reply; neither is looked at, because
//! both may hold personal data. Only the name, duration and outcome are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::histogram;
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use tracing::Span;

use super::metrics::MONGODB_COMMANDS;

/// The handler for `ClientOptions::command_event_handler`, or `None` when
/// neither metrics nor traces are collected: the driver then skips
/// building events altogether (they copy each reply).
pub fn command_handler() -> Option<EventHandler<CommandEvent>> {
    if !super::observing() {
        return None;
    }
    let open: Arc<Mutex<Open>> = Arc::default();
    Some(EventHandler::callback(move |event: CommandEvent| observe(&open, event)))
}

/// Spans of commands started and not yet finished, by request id.
type Open = HashMap<i32, (Instant, Span)>;

/// A command whose caller gave up (a request timeout drops the future)
/// never reports its end; past this many open spans, those older than
/// [`ABANDONED`] are dropped so that the map cannot grow without end.
const OPEN_SPANS: usize = 1_024;
const ABANDONED: Duration = Duration::from_secs(120);

fn observe(open: &Mutex<Open>, event: CommandEvent) {
    // The driver calls this from the task that runs the command, so the
    // current span is the request's: the command span becomes its child.
    match event {
        CommandEvent::Started(started) if super::traces::enabled() => {
            let span = tracing::info_span!(
                "mongodb.command",
                otel.name = %format_args!("{} {}", started.command_name, started.db),
                otel.kind = "client",
                db.system = "mongodb",
                db.name = %started.db,
                db.operation = %started.command_name,
                otel.status_code = tracing::field::Empty,
            );
            let mut open = lock(open);
            if open.len() >= OPEN_SPANS {
                open.retain(|_, (at, _)| at.elapsed() < ABANDONED);
            }
            // Request ids are unique across the driver's connections.
            open.insert(started.request_id, (Instant::now(), span));
        }
        CommandEvent::Succeeded(done) => {
            histogram!(MONGODB_COMMANDS, "command" => done.command_name, "outcome" => "ok")
                .record(done.duration.as_secs_f64());
            lock(open).remove(&done.request_id);
        }
        CommandEvent::Failed(failed) => {
            histogram!(MONGODB_COMMANDS, "command" => failed.command_name, "outcome" => "error")
                .record(failed.duration.as_secs_f64());
            if let Some((_, span)) = lock(open).remove(&failed.request_id) {
                span.record("otel.status_code", "ERROR");
            }
        }
        _ => {}
    }
}

fn lock(open: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
