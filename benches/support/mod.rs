//! What the service benchmarks share: the services check, settings from the
//! environment, the server configuration, memory readings.
// Each benchmark is its own crate and uses only some of these.
#![allow(dead_code)]

use clap::Parser;
use endorse::config::Config;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

/// Fails with the command to run when the local services are not there.
pub fn require_services(bench: &str) {
    for name in ["ENDORSE_MONGODB_URI", "ENDORSE_S3_ENDPOINT"] {
        assert!(
            std::env::var(name).is_ok(),
            "{name} is not set: run `scripts/services.sh run -- cargo bench --bench {bench}`"
        );
    }
}

/// A number from the environment, or `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The development configuration (services from the environment) on a free
/// port, quiet logs, plus `extra` flags.
pub fn config(extra: &[&str]) -> Config {
    // The rate limiter stays on (its cost is part of every request) with
    // a limit no benchmark reaches.
    let base = [
        "bench",
        "--env",
        "development",
        "--listen",
        "127.0.0.1:0",
        "--log",
        "warn",
        "--rate-limit-per-minute",
        "1000000000",
        "--rate-limit-burst",
        "1000000",
    ];
    Args::try_parse_from(base.iter().chain(extra)).expect("configuration").config
}

/// (current RSS, peak RSS) of a process, in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
