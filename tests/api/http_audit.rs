//! The graphql-http audit (GraphQL-over-HTTP spec) against the real server:
//! no MUST audit may fail.

use std::process::Command;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_audit_has_no_failed_must() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http-audit");
    assert!(
        std::path::Path::new(dir).join("node_modules/graphql-http").exists(),
        "graphql-http is not installed: run `npm ci --prefix tests/http-audit` (scripts/test.sh does)"
    );
    let app = spawn_app().await;
    let url = app.url("/graphql");
    let output =
        tokio::task::spawn_blocking(move || Command::new("node").arg("audit.mjs").arg(url).current_dir(dir).output())
            .await
            .unwrap()
            .expect("node runs (Node.js must be installed)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "MUST audits failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(", 0 MUST failures"), "{stdout}");
}
