//! Upload benchmark: a 100 MB file through the API (GraphQL multipart) to
//! the release server, run as its own process so its memory can be read.
//! Prints throughput and the server's peak RSS growth (target: < 32 MB).
//!
//!   scripts/services.sh run -- cargo bench --bench upload

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use endorse::auth::Role;
use serde_json::{Value, json};

mod support;

use support::memory_kib;

const UPLOAD: &str = "mutation($p: ID!, $file: Upload!) { uploadEvidence(portfolioId: $p, kind: TRANSCRIPT, file: $file) { status byteSize } }";

async fn upload(client: &reqwest::Client, url: &str, token: &str, portfolio: &str, path: &std::path::Path) -> Value {
    let file = tokio::fs::File::open(path).await.expect("file");
    let length = file.metadata().await.expect("metadata").len();
    let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::from(file), length)
        .file_name("big.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({ "query": UPLOAD, "variables": { "p": portfolio, "file": null } }).to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part("0", part);
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("upload");
    response.json().await.expect("JSON")
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(bench());
}

async fn bench() {
    support::require_services("upload");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unique = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let mut server = Command::new(env!("CARGO_BIN_EXE_endorse"))
        .arg("serve")
        .env("ENDORSE_ENV", "development")
        .env("ENDORSE_LISTEN", format!("127.0.0.1:{port}"))
        .env("ENDORSE_MONGODB_DATABASE", format!("bench_{unique}"))
        .env("ENDORSE_S3_BUCKET", format!("bench-{unique}"))
        .env("ENDORSE_MAX_UPLOAD_BYTES", (200 * 1024 * 1024).to_string())
        .env("ENDORSE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = support::config(&[]);
    let token = endorse::auth::jwt::mint_dev_token(
        &config,
        "bench-applicant",
        &[Role::Applicant],
        Some(&config.default_association),
        3600,
    )
    .expect("token");
    let url = format!("{base}/graphql");
    let created = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "mutation { createPortfolio(input: { track: INFANT, targetCategory: FAMILY_ASSOCIATE, applicant: { name: \"Bench\" } }) { id } }" }))
        .send()
        .await
        .expect("create")
        .json::<Value>()
        .await
        .expect("JSON");
    let portfolio = created["data"]["createPortfolio"]["id"].as_str().expect("portfolio id").to_owned();

    // A PDF header, then 100 MB of incompressible-looking bytes.
    let dir = std::env::temp_dir().join(format!("endorse-upload-{unique}"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, megabytes: usize| {
        let path = dir.join(name);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        file.write_all(b"%PDF-1.7\n").unwrap();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut block = vec![0u8; 1024 * 1024];
        for _ in 0..megabytes {
            for byte in block.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state as u8;
            }
            file.write_all(&block).unwrap();
        }
        path
    };
    let small = write("warmup.pdf", 1);
    let big = write("big.pdf", 100);

    let warm = upload(&client, &url, &token, &portfolio, &small).await;
    assert_eq!(warm["data"]["uploadEvidence"]["status"], "UPLOADED", "{warm}");
    let (before, _) = memory_kib(server.id());
    let started = Instant::now();
    let result = upload(&client, &url, &token, &portfolio, &big).await;
    let elapsed = started.elapsed();
    let (_, peak) = memory_kib(server.id());
    assert_eq!(result["data"]["uploadEvidence"]["status"], "UPLOADED", "{result}");
    let megabytes = std::fs::metadata(&big).unwrap().len() as f64 / 1_048_576.0;
    println!(
        "upload: {megabytes:.0} MiB through POST /graphql (multipart) to S3 in {:.2} s = {:.1} MiB/s",
        elapsed.as_secs_f64(),
        megabytes / elapsed.as_secs_f64()
    );
    println!(
        "server RSS before {:.1} MiB, peak during {:.1} MiB, growth {:.1} MiB (target < 32 MiB)",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(before)) as f64 / 1024.0
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
