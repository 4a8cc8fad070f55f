/// The committed schema must be exactly what the code generates; regenerate
/// with `cargo run -- schema > schema/schema.graphql`.
#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql"))
        .expect("schema/schema.graphql exists");
    let generated = endorse::graphql::sdl();
    assert!(
        committed == generated,
        "schema/schema.graphql is out of date: run `cargo run -- schema > schema/schema.graphql` and commit it"
    );
}

/// Every name of the client contract is present.
#[test]
fn schema_contains_the_contract_basics() {
    let sdl = endorse::graphql::sdl();
    for needle in ["scalar Date", "scalar DateTime", "type Viewer", "subject: String!", "roles: [Role!]!", "enum Role"]
    {
        assert!(sdl.contains(needle), "schema lacks `{needle}`");
    }
}
