//! Unknown `ENDORSE_*` variables stop start-up. A misspelt setting
//! (`ENDORSE_MAX_PAGE_SIZ`) would otherwise be ignored without a word and
//! the server would run with the default.
//!
//! The known names are read from the clap definitions, so a new setting is
//! known as soon as it has an `env = "..."`. Variables that tools around the
//! server read (the test suite, the benchmarks, `scripts/services.sh`) use a
//! reserved prefix, [`RESERVED_PREFIXES`], and are never taken for settings.

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::{Args, Command};

use super::Config;

/// The prefix every setting's variable has.
pub const PREFIX: &str = "ENDORSE_";

/// Prefixes of `ENDORSE_*` variables that are not settings of the server:
/// - `ENDORSE_TEST_`: read by the integration tests (e.g. `ENDORSE_TEST_MONGOD_BIN`);
/// - `ENDORSE_BENCH_`: read by the benchmarks;
/// - `ENDORSE_SERVICES_`: inputs of `scripts/services.sh` (cache directory, ports).
///
/// `scripts/services.sh` exports the `ENDORSE_TEST_*` ones into the
/// environment of the command it runs, which may be the server.
pub const RESERVED_PREFIXES: [&str; 3] = ["ENDORSE_TEST_", "ENDORSE_BENCH_", "ENDORSE_SERVICES_"];

/// Every variable a setting is read from, from the clap definitions.
pub fn known_variables() -> BTreeSet<String> {
    Config::augment_args(Command::new("endorse"))
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

/// An `ENDORSE_*` variable that names no setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown setting {name}; did you mean {suggestion}?")]
pub struct UnknownSetting {
    pub name: String,
    /// The known variable closest to `name`.
    pub suggestion: String,
}

/// Refuses the first (in name order, so the message is stable) `ENDORSE_*`
/// variable of `vars` that is neither a setting nor reserved.
pub fn check(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Result<(), UnknownSetting> {
    let known = known_variables();
    let unknown: BTreeSet<String> = vars
        .into_iter()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with(PREFIX) && !is_reserved(name) && !known.contains(name))
        .collect();
    match unknown.into_iter().next() {
        None => Ok(()),
        Some(name) => {
            let suggestion = closest(&name, &known).to_owned();
            Err(UnknownSetting { name, suggestion })
        }
    }
}

/// Checks the environment of this process.
pub fn check_process() -> Result<(), UnknownSetting> {
    check(std::env::vars_os())
}

pub fn is_reserved(name: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// The known name with the smallest edit distance (ties: the first in name
/// order, so the suggestion does not depend on hashing or argument order).
fn closest<'a>(name: &str, known: &'a BTreeSet<String>) -> &'a str {
    known.iter().min_by_key(|candidate| strsim::levenshtein(name, candidate)).map(String::as_str).unwrap_or(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(names: &[&str]) -> Vec<(OsString, OsString)> {
        names.iter().map(|name| (OsString::from(name), OsString::from("1"))).collect()
    }

    #[test]
    fn known_names_come_from_the_clap_definitions() {
        let known = known_variables();
        assert!(known.contains("ENDORSE_MAX_PAGE_SIZE"));
        assert!(known.contains("ENDORSE_MONGODB_TIMEOUT_MS"), "flattened sections count too");
        assert!(known.iter().all(|name| name.starts_with(PREFIX) && !is_reserved(name)), "{known:?}");
    }

    #[test]
    fn a_misspelt_setting_names_the_closest_one() {
        let error = check(vars(&["ENDORSE_MAX_PAGE_SIZ", "PATH"])).unwrap_err();
        assert_eq!(error.to_string(), "unknown setting ENDORSE_MAX_PAGE_SIZ; did you mean ENDORSE_MAX_PAGE_SIZE?");
        let error = check(vars(&["ENDORSE_JWT_SECRETS"])).unwrap_err();
        assert_eq!(error.suggestion, "ENDORSE_JWT_SECRET");
    }

    #[test]
    fn settings_other_prefixes_and_reserved_names_pass() {
        check(vars(&["ENDORSE_ENV", "ENDORSE_S3_BUCKET", "ENDORSE", "ENDORSEMENT", "HOME"])).expect("all known");
        check(vars(&["ENDORSE_TEST_MONGOD_BIN", "ENDORSE_BENCH_ROUNDS", "ENDORSE_SERVICES_S3_PORT"]))
            .expect("reserved for tools");
    }

    /// Every `ENDORSE_*` name the repository's scripts, tests, benchmarks and
    /// deployment files mention is a setting or reserved: a tool variable
    /// without a reserved prefix would stop the server it starts.
    #[test]
    fn the_repository_uses_only_settings_and_reserved_names() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let known = known_variables();
        let mut offenders = Vec::new();
        for dir in ["scripts", "tests", "benches", "docker", ".ci"] {
            for file in files_under(&root.join(dir)) {
                // The configuration tests misspell settings on purpose.
                if file.ends_with("tests/api/config_errors.rs") {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&file) else { continue };
                for name in endorse_names(&text) {
                    if !known.contains(name) && !is_reserved(name) {
                        offenders.push(format!("{}: {name}", file.strip_prefix(root).unwrap().display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "not a setting and without a reserved prefix ({RESERVED_PREFIXES:?}): {offenders:?}"
        );
    }

    fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "node_modules") {
                    continue;
                }
                files.extend(files_under(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    /// `ENDORSE_` followed by at least one name character (so `ENDORSE_*` in
    /// prose is not a name).
    fn endorse_names(text: &str) -> impl Iterator<Item = &str> {
        let is_name = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_';
        text.match_indices(PREFIX).filter_map(move |(start, _)| {
            let before_ok = start == 0 || !is_name(text.as_bytes()[start - 1]);
            let len = text[start..].bytes().take_while(|&b| is_name(b)).count();
            (before_ok && len > PREFIX.len()).then(|| &text[start..start + len])
        })
    }
}
