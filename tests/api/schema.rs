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

/// Everything in the client contract (`schema/contract.graphql`) exists in
/// the generated schema with the same names, argument names and types
/// (nullability included).
#[test]
fn the_schema_keeps_the_client_contract() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    use std::collections::HashMap;

    fn types(sdl: &str) -> HashMap<String, TypeKind> {
        let document = async_graphql::parser::parse_schema(sdl).expect("SDL parses");
        document
            .definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node.kind)),
                _ => None,
            })
            .collect()
    }
    let contract = types(include_str!("../../schema/contract.graphql"));
    let ours = types(&endorse::graphql::sdl());
    let mut problems = Vec::new();
    for (name, kind) in &contract {
        let Some(mine) = ours.get(name) else {
            problems.push(format!("type {name} is missing"));
            continue;
        };
        match (kind, mine) {
            (TypeKind::Object(theirs), TypeKind::Object(mine)) => {
                for field in &theirs.fields {
                    let field = &field.node;
                    let path = format!("{name}.{}", field.name.node);
                    let Some(my_field) = mine.fields.iter().find(|f| f.node.name.node == field.name.node) else {
                        problems.push(format!("{path} is missing"));
                        continue;
                    };
                    if field.ty.node.to_string() != my_field.node.ty.node.to_string() {
                        problems.push(format!("{path}: {} instead of {}", my_field.node.ty.node, field.ty.node));
                    }
                    for argument in &field.arguments {
                        let argument = &argument.node;
                        match my_field.node.arguments.iter().find(|a| a.node.name.node == argument.name.node) {
                            None => problems.push(format!("{path}({}) is missing", argument.name.node)),
                            Some(mine) if mine.node.ty.node.to_string() != argument.ty.node.to_string() => problems
                                .push(format!(
                                    "{path}({}): {} instead of {}",
                                    argument.name.node, mine.node.ty.node, argument.ty.node
                                )),
                            Some(_) => {}
                        }
                    }
                }
            }
            (TypeKind::InputObject(theirs), TypeKind::InputObject(mine)) => {
                for field in &theirs.fields {
                    let field = &field.node;
                    match mine.fields.iter().find(|f| f.node.name.node == field.name.node) {
                        None => problems.push(format!("{name}.{} is missing", field.name.node)),
                        Some(my) if my.node.ty.node.to_string() != field.ty.node.to_string() => problems.push(format!(
                            "{name}.{}: {} instead of {}",
                            field.name.node, my.node.ty.node, field.ty.node
                        )),
                        Some(_) => {}
                    }
                }
            }
            (TypeKind::Enum(theirs), TypeKind::Enum(mine)) => {
                for value in &theirs.values {
                    if !mine.values.iter().any(|v| v.node.value.node == value.node.value.node) {
                        problems.push(format!("{name}.{} is missing", value.node.value.node));
                    }
                }
            }
            (TypeKind::Scalar, TypeKind::Scalar) => {}
            _ => problems.push(format!("{name} is a different kind of type")),
        }
    }
    assert!(problems.is_empty(), "the schema breaks the client contract:\n{}", problems.join("\n"));
}
