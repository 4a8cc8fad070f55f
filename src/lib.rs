//! Endorse: a GraphQL backend for IECMH Endorsement® portfolios.
//!
//! Layers, from pure to wired:
//! - [`domain`]: portfolio model, rulebook, requirement engine, workflow (no I/O);
//! - [`store`]: MongoDB; [`blob`]: S3; [`media`]: image previews;
//! - [`app`]: the use cases: business rules, access policy, orchestration;
//! - [`graphql`], [`http`]: adapters that translate to and from [`app`]
//!   (they never reach [`store`] themselves); [`config`], [`cli`].

/// mimalloc rather than glibc's malloc: a GraphQL response is built from
/// thousands of small allocations (names, values, decoded strings) freed
/// together. Profiled on the full portfolio read, glibc's malloc and free
/// were 16% of the server's CPU. Set here, in the library, so that the
/// benchmarks and tests that run the server in-process measure the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
