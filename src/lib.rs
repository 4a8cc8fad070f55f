//! Endorse: a GraphQL backend for IECMH Endorsement® portfolios.
//!
//! Layers, from pure to wired:
//! - [`domain`]: portfolio model, rulebook, requirement engine, workflow (no I/O);
//! - [`store`]: MongoDB; [`blob`]: S3; [`media`]: image previews;
//! - [`app`]: the use cases: business rules, access policy, orchestration;
//! - [`graphql`], [`http`]: adapters that translate to and from [`app`]
//!   (they never reach [`store`] themselves); [`config`], [`cli`].

pub mod app;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod health;
pub mod http;
pub mod mail;
pub mod media;
pub mod seed;
pub mod services;
pub mod signing;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod telemetry;
