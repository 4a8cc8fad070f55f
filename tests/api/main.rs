//! All integration tests in one binary (one link, shared helpers). They talk
//! to a real server over HTTP, backed by real MongoDB and S3 servers.

mod auth;
mod config_errors;
mod eligibility;
mod evidence;
mod helpers;
mod http_audit;
mod http_rules;
mod limits;
mod portfolios;
mod private_mongo;
mod projection;
mod readiness;
mod restarts;
mod review;
mod schema;
mod stats;
