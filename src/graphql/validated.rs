//! Validating a document once, not on every request.
//!
//! async-graphql validates every request's document against the schema
//! (22 rules, a walk of the whole document each), even when the same text
//! passed a moment ago: 8% of the server's CPU on the full portfolio read.
//! All of those rules but one depend on the document and the schema only;
//! the one that reads the request (`ArgumentsOfCorrectType`) checks the
//! variables' values against the types of the arguments they fill, which
//! the document's other rules already matched to the variables' declared
//! types.
//!
//! So a document that passed full validation is marked ([`Parsed`]), and a
//! later *query* with that document runs on a schema in async-graphql's
//! `Fast` mode when [`variables_fit`] finds every variable's value valid
//! for its declared type, by the same test async-graphql applies. Anything
//! it is not sure of (a null, a missing value, a type it does not know)
//! goes through full validation, which then says what is wrong exactly as
//! before. Mutations are always validated in full: an error found only
//! while executing could come after another root field had written.
//!
//! [`Parsed`]: super::documents::Parsed

use async_graphql::parser::types::{BaseType, OperationDefinition, OperationType, Type};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{ObjectType, SubscriptionType, Value, Variables};

use super::{EndorseSchema, Mutation, Query, subscription::Subscription};
use crate::config::Config;
use crate::services::Services;

/// The schema for documents validated before, and what decides when a
/// request may use it.
pub struct Prevalidated {
    pub schema: EndorseSchema,
    types: InputTypes,
}

impl Prevalidated {
    pub fn new(config: &Config, services: Services) -> Self {
        Prevalidated {
            schema: super::build_prevalidated_schema(config, services),
            types: InputTypes::of::<Query, Mutation, Subscription>(),
        }
    }

    /// See [`InputTypes::variables_fit`].
    pub fn variables_fit(&self, operation: &OperationDefinition, variables: &Variables) -> bool {
        self.types.variables_fit(operation, variables)
    }
}

/// The input types of a schema, for checking variables.
pub struct InputTypes(Registry);

impl InputTypes {
    /// The registry of the schema with these roots (what async-graphql's own
    /// validation looks types up in).
    pub fn of<Query: ObjectType, Mutation: ObjectType, Subscription: SubscriptionType>() -> Self {
        let mut registry = Registry::default();
        Query::create_type_info(&mut registry);
        Mutation::create_type_info(&mut registry);
        Subscription::create_type_info(&mut registry);
        InputTypes(registry)
    }

    /// Whether `operation`, from a document that passed full validation,
    /// may skip it with these `variables` (see the module).
    pub fn variables_fit(&self, operation: &OperationDefinition, variables: &Variables) -> bool {
        operation.ty == OperationType::Query
            && operation.variable_definitions.iter().all(|definition| {
                let name = &definition.node.name.node;
                match variables.get(name) {
                    Some(value) => self.fits_declared(&definition.node.var_type.node, value),
                    // A default was validated with the document; no value
                    // and no default is for full validation to judge.
                    None => definition.node.default_value.is_some(),
                }
            })
    }

    /// [`Self::fits`] for a type as the document declares it (read as it
    /// stands, not printed and parsed again on every request).
    fn fits_declared(&self, declared: &Type, value: &Value) -> bool {
        match (&declared.base, value) {
            (_, Value::Null) => false,
            (BaseType::Named(name), value) => self.fits(name, value),
            (BaseType::List(item), Value::List(items)) => items.iter().all(|value| self.fits_declared(item, value)),
            (BaseType::List(item), single) => self.fits_declared(item, single),
        }
    }

    /// async-graphql's `is_valid_input_value`, except that a null is never
    /// sure (it may fill an argument that needs a value).
    fn fits(&self, type_name: &str, value: &Value) -> bool {
        if matches!(value, Value::Null) {
            return false;
        }
        match MetaTypeName::create(type_name) {
            MetaTypeName::NonNull(inner) => self.fits(inner, value),
            MetaTypeName::List(inner) => match value {
                Value::List(items) => items.iter().all(|item| self.fits(inner, item)),
                single => self.fits(inner, single),
            },
            MetaTypeName::Named(name) => match self.0.types.get(name) {
                Some(MetaType::Scalar { is_valid: Some(is_valid), .. }) => is_valid(value),
                Some(MetaType::Scalar { is_valid: None, .. }) => true,
                Some(MetaType::Enum { enum_values, .. }) => match value {
                    Value::Enum(item) => enum_values.contains_key(item.as_str()),
                    Value::String(item) => enum_values.contains_key(item.as_str()),
                    _ => false,
                },
                Some(MetaType::InputObject { input_fields, oneof: false, .. }) => match value {
                    Value::Object(given) => {
                        given.keys().all(|key| input_fields.contains_key(key.as_str()))
                            && input_fields.values().all(|field| match given.get(field.name.as_str()) {
                                Some(value) => self.fits(&field.ty, value),
                                None => !MetaTypeName::create(&field.ty).is_non_null() || field.default_value.is_some(),
                            })
                    }
                    _ => false,
                },
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::DocumentOperations;

    use super::*;

    fn fit(query: &str, variables: serde_json::Value) -> bool {
        let types = InputTypes::of::<Query, Mutation, Subscription>();
        let document = parse_query(query).unwrap();
        let DocumentOperations::Single(operation) = &document.operations else { panic!("one operation") };
        types.variables_fit(&operation.node, &Variables::from_json(variables))
    }

    #[test]
    fn only_values_valid_for_their_declared_types_skip_validation() {
        let by_id = "query($id: ID!) { portfolio(id: $id) { id } }";
        assert!(fit(by_id, serde_json::json!({ "id": "0123456789abcdef01234567" })));
        assert!(fit(by_id, serde_json::json!({ "id": 7 })), "an ID may be sent as an integer");
        assert!(!fit(by_id, serde_json::json!({ "id": true })));
        assert!(!fit(by_id, serde_json::json!({})), "missing: full validation says so");
        assert!(!fit(by_id, serde_json::json!({ "id": null })));

        let page = "query($first: Int, $status: [PortfolioStatus!]) { portfolios(first: $first, filter: { status: $status }) { totalCount } }";
        assert!(fit(page, serde_json::json!({ "first": 5, "status": ["DRAFT", "SUBMITTED"] })));
        assert!(fit(page, serde_json::json!({ "first": 5, "status": "DRAFT" })), "a single value for a list");
        assert!(!fit(page, serde_json::json!({ "first": "5", "status": ["DRAFT"] })));
        assert!(!fit(page, serde_json::json!({ "first": 5, "status": ["NOT_A_STATUS"] })));

        let filter = "query($filter: PortfolioFilter) { portfolios(filter: $filter) { totalCount } }";
        assert!(fit(filter, serde_json::json!({ "filter": { "track": "INFANT" } })));
        assert!(!fit(filter, serde_json::json!({ "filter": { "track": "INFANT", "nope": 1 } })), "unknown field");
        assert!(!fit(filter, serde_json::json!({ "filter": { "track": "NOPE" } })));

        let mutation = "mutation($id: ID!) { submitPortfolio(id: $id) { id } }";
        assert!(!fit(mutation, serde_json::json!({ "id": "0123456789abcdef01234567" })), "mutations always");
    }
}
