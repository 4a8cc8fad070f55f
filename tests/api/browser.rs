//! The rater page in a real browser: Debian's Chromium, headless, driven by
//! `tests/browser/rater.mjs` (playwright-core, axe-core from npm). The page
//! loads, the browser fills and submits it, axe finds no violations, and a
//! screenshot of the filled form is kept in `target/test-artefacts/`.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::mail;
use crate::portfolios::create;
use crate::references::publish_form;

fn chromium() -> String {
    let path = std::env::var("ENDORSE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: the browser test needs Debian's Chromium. `scripts/test.sh` installs it \
         (apt-get install chromium); or set ENDORSE_TEST_CHROMIUM to a Chromium binary."
    );
    path
}

#[tokio::test]
async fn a_rater_fills_and_submits_the_page_in_chromium_and_it_passes_axe() {
    let browser = chromium();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/browser/rater.mjs");
    assert!(
        root.join("tests/browser/node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)"
    );
    let artefacts = root.join("target/test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let screenshot = artefacts.join("rater-form-filled.png");
    let _ = std::fs::remove_file(&screenshot);

    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "browser-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("browser");
    let input = json!({ "raterName": "Rosa Díaz", "raterEmail": rater, "role": "RSC_PROVIDER", "waived": false });
    let body = app
        .graphql(
            Some(&owner),
            "mutation($id: ID!, $input: ReferenceRequestInput!) { requestReference(portfolioId: $id, input: $input) { id } }",
            json!({ "id": id, "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let link = mail::wait_for(&mail::maildir(), &rater, 1, 30).await[0].link();

    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&link)
        .arg(&screenshot)
        .env("ENDORSE_TEST_CHROMIUM", &browser)
        .output()
        .await
        .expect("node runs (Node.js is needed for the browser test)");
    assert!(
        output.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());

    let body = app
        .graphql(
            Some(&owner),
            "query($id: ID!) { portfolio(id: $id) { references { source notEnoughInfoCount raterCredential } referenceRequests { status rating { comments } } } }",
            json!({ "id": id }),
        )
        .await;
    let portfolio = &body["data"]["portfolio"];
    assert_eq!(portfolio["referenceRequests"][0]["status"], "SUBMITTED", "{body}");
    assert_eq!(
        portfolio["referenceRequests"][0]["rating"]["comments"],
        "Observé su trabajo reflexivo durante dos años."
    );
    assert_eq!(portfolio["references"][0]["notEnoughInfoCount"], 1);
    assert_eq!(portfolio["references"][0]["raterCredential"], "MENTOR_CLINICAL");
}
