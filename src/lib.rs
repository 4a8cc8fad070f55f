//! Endorse: a GraphQL backend for IECMH Endorsement® portfolios.
//!
//! Layers, from pure to wired:
//! - [`domain`]: portfolio model, rulebook, requirement engine (no I/O);
//! - [`store`]: MongoDB; [`blob`]: S3; [`media`]: image previews;
//! - [`graphql`]: resolvers that orchestrate the layers above;
//! - [`http`]: axum routes, auth extraction, limits; [`config`], [`cli`].

pub mod auth;
pub mod blob;
pub mod cli;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod health;
pub mod http;
pub mod media;
pub mod seed;
pub mod services;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod telemetry;
