//! Invalid configuration stops start-up with one line naming the variable.

use std::process::Command;

fn run_serve(env: &[(&str, &str)]) -> (bool, String) {
    let (code, stderr) = run(&["serve"], env);
    (code == Some(0), stderr)
}

/// Runs `endorse ARGS` with only `env` as ENDORSE_* variables: exit code
/// and trimmed stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_endorse"));
    command.args(args);
    // Start from a clean slate: only what the case sets.
    for (key, _) in std::env::vars() {
        if key.starts_with("ENDORSE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the binary runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).trim().to_owned())
}

#[test]
fn each_bad_setting_is_named_in_one_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ENDORSE_LISTEN", "not-an-address")], "ENDORSE_LISTEN"),
        (&[("ENDORSE_ENV", "staging")], "ENDORSE_ENV"),
        (&[("ENDORSE_ENV", "production")], "ENDORSE_JWT_SECRET"),
        (
            &[("ENDORSE_ENV", "production"), ("ENDORSE_JWT_SECRET", "a-production-secret-of-at-least-32-bytes")],
            "ENDORSE_LINK_SECRET",
        ),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_SMTP_URL", "mail.example.org")], "ENDORSE_SMTP_URL"),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_JWT_SECRET", "short")], "ENDORSE_JWT_SECRET"),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_MONGODB_URI", "postgres://x")], "ENDORSE_MONGODB_URI"),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_S3_BUCKET", "Bad_Bucket")], "ENDORSE_S3_BUCKET"),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_MAX_QUERY_DEPTH", "deep")], "ENDORSE_MAX_QUERY_DEPTH"),
        (&[("ENDORSE_ENV", "development"), ("ENDORSE_JWT_ALGORITHM", "RS256")], "ENDORSE_JWT_PUBLIC_KEY_FILE"),
        (
            &[
                ("ENDORSE_ENV", "development"),
                ("ENDORSE_JWT_ALGORITHM", "RS256"),
                ("ENDORSE_JWT_PUBLIC_KEY_FILE", "/nonexistent.pem"),
            ],
            "ENDORSE_JWT_PUBLIC_KEY_FILE",
        ),
    ];
    for (env, variable) in cases {
        let (ok, stderr) = run_serve(env);
        assert!(!ok, "{env:?} should stop start-up");
        assert_eq!(stderr.lines().count(), 1, "{env:?}: expected one line, got:\n{stderr}");
        assert!(stderr.contains(variable), "{env:?}: `{stderr}` does not name {variable}");
    }
}

#[test]
fn secrets_never_reach_the_output() {
    let secret = "super-secret-value-that-is-long-enough-for-hs256";
    let (ok, stderr) = run_serve(&[
        ("ENDORSE_ENV", "production"),
        ("ENDORSE_JWT_SECRET", secret),
        ("ENDORSE_S3_BUCKET", "Bad_Bucket"),
    ]);
    assert!(!ok);
    assert!(!stderr.contains(secret), "{stderr}");
}

#[test]
fn a_malformed_rulebook_stops_start_up_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("endorse-rulebook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.json");
    std::fs::write(&path, "{\n  \"association\": \"x-aimh\",\n  \"name\": \"X\",\n  \"versions\": [ { \"effectiveFrom\": \"2025-13-01\" } ]\n}\n")
        .unwrap();
    let path_text = path.to_str().unwrap().to_owned();
    let (ok, stderr) = run_serve(&[("ENDORSE_ENV", "development"), ("ENDORSE_RULEBOOK_FILE", &path_text)]);
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{path_text}:4:")), "names file and line: {stderr}");
}

#[test]
fn key_settings_must_fit_the_one_algorithm() {
    use crate::auth::{fixtures, jwks_file};
    let mixed = jwks_file(&[(fixtures::RSA_JWK, "1", None), (fixtures::EC_JWK, "2", None)]);
    let other_alg = jwks_file(&[(fixtures::RSA_JWK, "1", Some("PS256"))]);
    let rsa = jwks_file(&[(fixtures::RSA_JWK, "1", Some("RS256"))]);
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), fixtures::RSA2_PUBLIC).unwrap();
    let [mixed, other_alg, rsa, pem] = [&mixed, &other_alg, &rsa, &pem].map(|f| f.path().to_str().unwrap().to_owned());

    let dev = ("ENDORSE_ENV", "development");
    // (environment, variable named, what the line says)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[dev, ("ENDORSE_JWT_ALGORITHM", "RS256"), ("ENDORSE_JWT_JWKS_FILE", &mixed)],
            "ENDORSE_JWT_JWKS_FILE",
            "key `2` is an EC P-256 key, not a key for RS256",
        ),
        (
            &[dev, ("ENDORSE_JWT_ALGORITHM", "ES256"), ("ENDORSE_JWT_JWKS_FILE", &rsa)],
            "ENDORSE_JWT_JWKS_FILE",
            "key `1` is an RSA key, not a key for ES256",
        ),
        (
            &[dev, ("ENDORSE_JWT_ALGORITHM", "RS256"), ("ENDORSE_JWT_JWKS_FILE", &other_alg)],
            "ENDORSE_JWT_JWKS_FILE",
            "names `alg` PS256",
        ),
        (
            &[
                dev,
                ("ENDORSE_JWT_ALGORITHM", "RS256"),
                ("ENDORSE_JWT_PUBLIC_KEY_FILE", &pem),
                ("ENDORSE_JWT_JWKS_FILE", &rsa),
            ],
            "ENDORSE_JWT_JWKS_FILE",
            "not both",
        ),
        (&[dev, ("ENDORSE_JWT_JWKS_FILE", &rsa)], "ENDORSE_JWT_JWKS_FILE", "cannot be used with HS256"),
        (&[dev, ("ENDORSE_JWT_PUBLIC_KEY_FILE", &pem)], "ENDORSE_JWT_PUBLIC_KEY_FILE", "only used with RS256 or ES256"),
        (
            &[dev, ("ENDORSE_JWT_ALGORITHM", "RS256"), ("ENDORSE_JWT_JWKS_FILE", "/nonexistent.json")],
            "ENDORSE_JWT_JWKS_FILE",
            "cannot read /nonexistent.json",
        ),
        (&[dev, ("ENDORSE_JWT_MAX_LIFETIME_SECONDS", "0")], "ENDORSE_JWT_MAX_LIFETIME_SECONDS", "at least 1"),
        (&[dev, ("ENDORSE_JWT_MAX_LIFETIME_SECONDS", "an hour")], "ENDORSE_JWT_MAX_LIFETIME_SECONDS", "an hour"),
    ];
    for (env, variable, says) in cases {
        let (ok, stderr) = run_serve(env);
        assert!(!ok, "{env:?} should stop start-up");
        assert_eq!(stderr.lines().count(), 1, "{env:?}: expected one line, got:\n{stderr}");
        assert!(stderr.contains(variable), "{env:?}: `{stderr}` does not name {variable}");
        assert!(stderr.contains(says), "{env:?}: `{stderr}` does not say `{says}`");
    }
}

#[test]
fn a_misspelt_variable_stops_every_command_that_reads_settings() {
    let misspelt = [("ENDORSE_ENV", "development"), ("ENDORSE_MAX_PAGE_SIZ", "50")];
    let expected = "error: unknown setting ENDORSE_MAX_PAGE_SIZ; did you mean ENDORSE_MAX_PAGE_SIZE?";
    let commands: &[&[&str]] =
        &[&["serve"], &["token", "--sub", "someone", "--role", "ADMIN"], &["sweep"], &["seed", "--demo"]];
    for args in commands {
        let (code, stderr) = run(args, &misspelt);
        assert_eq!(code, Some(1), "{args:?} should stop: {stderr}");
        assert_eq!(stderr, expected, "{args:?}");
    }
    // Commands without settings do not care.
    let (code, stderr) = run(&["schema"], &misspelt);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn variables_of_the_test_and_service_tools_are_not_settings() {
    let env = [
        ("ENDORSE_ENV", "development"),
        ("ENDORSE_TEST_MONGOD_BIN", "/usr/bin/true"),
        ("ENDORSE_BENCH_ANYTHING", "1"),
        ("ENDORSE_SERVICES_S3_PORT", "9000"),
    ];
    let (code, stderr) = run(&["token", "--sub", "someone", "--role", "ADMIN"], &env);
    assert_eq!(code, Some(0), "{stderr}");
}
