//! The parameters of one GraphQL request, from a JSON body or a query string.

use async_graphql::Variables;
use serde_json::{Map, Value};

use crate::graphql::documents::{Hash, parse_hash};

#[derive(Debug, Default)]
pub struct Params {
    /// Empty when the request names a persisted query by its hash instead.
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    /// `extensions.persistedQuery.sha256Hash` (automatic persisted queries).
    pub persisted_hash: Option<Hash>,
}

/// The hash of an automatic persisted query, from `extensions`.
fn persisted_hash(extensions: &Map<String, Value>) -> Result<Option<Hash>, String> {
    let Some(persisted) = extensions.get("persistedQuery") else { return Ok(None) };
    let version = persisted.get("version").and_then(Value::as_i64);
    let hash = persisted.get("sha256Hash").and_then(Value::as_str).and_then(parse_hash);
    match (version, hash) {
        (Some(1), Some(hash)) => Ok(Some(hash)),
        _ => Err("`extensions.persistedQuery` must be { version: 1, sha256Hash: \"<64 hex digits>\" }.".to_owned()),
    }
}

pub fn from_json(body: Value) -> Result<Params, String> {
    let mut map = match body {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err("Batched requests are not supported; send one operation per request.".into());
        }
        _ => return Err("The request body must be a JSON object.".into()),
    };
    let persisted_hash = match map.get("extensions") {
        Some(Value::Object(extensions)) => persisted_hash(extensions)?,
        _ => None,
    };
    let query = match map.remove("query") {
        Some(Value::String(query)) => query,
        None | Some(Value::Null) if persisted_hash.is_some() => String::new(),
        None | Some(Value::Null) => return Err("The `query` parameter is missing.".into()),
        Some(_) => return Err("The `query` parameter must be a string.".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("The `operationName` parameter must be a string.".into()),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(vars)) => Some(vars),
        Some(_) => return Err("The `variables` parameter must be an object.".into()),
    };
    match map.remove("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("The `extensions` parameter must be an object.".into()),
    }
    Ok(Params { query, operation_name, variables, persisted_hash })
}

pub fn from_query_string(raw: Option<&str>) -> Result<Params, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| "The query string is malformed.".to_owned())?;
    let mut object = Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|_| format!("The `{key}` parameter must be URL-encoded JSON."))?
            }
            _ => Value::String(value),
        };
        if object.insert(key.clone(), value).is_some() {
            return Err(format!("The `{key}` parameter is given more than once."));
        }
    }
    from_json(Value::Object(object))
}

impl Params {
    /// The request, and the persisted-query hash it names, if any.
    pub fn into_request(self) -> (async_graphql::Request, Option<Hash>) {
        let mut request = async_graphql::Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(Variables::from_json(Value::Object(variables)));
        }
        (request, self.persisted_hash)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::OperationType;
    use serde_json::json;

    use super::*;

    #[test]
    fn batches_and_bad_parameters_are_request_errors() {
        assert!(from_json(json!([{ "query": "{a}" }])).is_err());
        assert!(from_json(json!({ "query": 1 })).is_err());
        assert!(from_json(json!({ "query": "{a}", "variables": "x" })).is_err());
        assert!(from_json(json!({ "query": "{a}", "operationName": false })).is_err());
        assert!(from_json(json!({ "query": "{a}", "extensions": [1] })).is_err());
        let ok = from_json(json!({ "query": "{a}", "variables": null, "extensions": {} })).unwrap();
        assert_eq!(ok.query, "{a}");
        assert!(from_json(json!({ "extensions": {} })).is_err(), "no query and no persisted hash");
    }

    #[test]
    fn a_persisted_query_hash_stands_in_for_the_query() {
        let hash = "A".repeat(64);
        let params =
            from_json(json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })).unwrap();
        assert_eq!((params.query.as_str(), params.persisted_hash), ("", Some([0xaa; 32])));
        for bad in [json!({ "version": 2, "sha256Hash": "a".repeat(64) }), json!({ "version": 1, "sha256Hash": "xyz" })]
        {
            assert!(from_json(json!({ "query": "{a}", "extensions": { "persistedQuery": bad } })).is_err());
        }
    }

    #[test]
    fn get_parameters_decode_json_variables() {
        let params = from_query_string(Some("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D")).unwrap();
        assert_eq!(params.variables.unwrap()["x"], json!(1));
        assert!(from_query_string(Some("query=a&query=b")).is_err());
        assert!(from_query_string(Some("variables=notjson&query=x")).is_err());
    }

    /// The type of the operation that runs, as `run_as_caller` reads it.
    fn operation_type(
        document: &async_graphql::parser::types::ExecutableDocument,
        operation_name: Option<&str>,
    ) -> Option<OperationType> {
        crate::graphql::execution::selected_operation(document, operation_name).map(|(_, operation)| operation.ty)
    }

    #[test]
    fn mutations_are_detected_for_the_selected_operation() {
        let document = async_graphql::parser::parse_query("query A { a } mutation B { b }").unwrap();
        assert_eq!(operation_type(&document, Some("B")), Some(OperationType::Mutation));
        assert_eq!(operation_type(&document, None), None);
        let document = async_graphql::parser::parse_query("mutation { b }").unwrap();
        assert_eq!(operation_type(&document, None), Some(OperationType::Mutation));
        // A document's only operation runs without being named, so a GET
        // carrying one named mutation is still a mutation.
        let document = async_graphql::parser::parse_query("mutation Only { b }").unwrap();
        assert_eq!(operation_type(&document, None), Some(OperationType::Mutation));
    }
}
