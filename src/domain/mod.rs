//! The pure domain of Endorse: the portfolio model, rulebooks as data and the
//! requirement engine. No I/O, no async, no global state: callers read files
//! and the database and pass plain values in.

pub mod access;
pub mod association;
pub mod changes;
pub mod credential;
pub mod cycles;
pub mod endorsement;
pub mod engine;
pub mod fees;
pub mod model;
pub mod names;
pub mod reference;
pub mod renewal;
pub mod review;
pub mod rulebook;
pub mod sample;
pub mod stats;
pub mod submission;
pub mod unmet;
pub mod validate;
mod words;
pub mod workflow;

pub use engine::{Eligibility, EntryId, EvaluationError, Progress, RequirementResult, evaluate, recommend};
pub use rulebook::{Rulebook, RulebookError, RulebookVersion};
pub use validate::ValidationError;
