//! All integration tests in one binary (one link, shared helpers). They talk
//! to a real server over HTTP, backed by real MongoDB and S3 servers.

mod advisers;
mod architecture;
mod audit;
mod auth;
mod browser;
mod caps;
mod config_errors;
mod connections;
mod eligibility;
mod evidence;
mod fees;
mod helpers;
mod hostile;
mod http_audit;
mod http_rules;
mod idempotency;
mod limits;
mod mail;
mod mail_templates;
mod memberships;
mod observability;
mod portfolios;
mod private_mongo;
mod process;
mod projection;
mod readiness;
mod references;
mod registry;
mod renewal;
mod restarts;
mod review;
mod schema;
mod stats;
mod subscriptions;
mod tenancy;
