//! The layering rule, checked: the adapters (`graphql`, `http`) translate
//! to and from the application layer and never import `store` themselves.
//! Records they pass along come re-exported from `app::records`, so every
//! read and write of tenant data goes through a use case (and its policy).

use std::path::Path;

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn adapters_do_not_import_the_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for adapter in ["graphql", "http"] {
        rust_files(&root.join(adapter), &mut files);
    }
    assert!(files.len() > 10, "the adapters' sources were found: {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if ["crate::store", "super::store", "endorse::store"].iter().any(|path| code.contains(path)) {
                offences.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "graphql/ and http/ must go through crate::app (records via crate::app::records):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_domain_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for forbidden in ["mongodb", "tokio", "aws_sdk_s3", "crate::store", "crate::app", "crate::graphql", "std::fs"] {
            let used = text.lines().any(|line| line.split("//").next().unwrap_or("").contains(forbidden));
            assert!(!used, "{} uses `{forbidden}`: the domain is pure", file.display());
        }
    }
}
