//! Lists of in-memory objects resolved field after field, in the order the
//! query names them.
//!
//! async-graphql resolves every object of a list as its own future, and
//! every field of an object as a boxed future polled through a
//! `FuturesUnordered`, so that slow fields run concurrently. The entries of
//! a portfolio (a few dozen objects, a handful of fields each) are reads of
//! a document already in memory: every field is ready at its first poll.
//! Profiled on the full 67-entry portfolio, that machinery (boxing, the
//! unordered set, joining the list) was a quarter of the server's CPU.
//!
//! [`InOrder`] has the schema type of `Vec<T>` (`[T!]!`) and gives the same
//! values: each field is resolved by `T`'s own generated resolver and
//! merged under its response key as async-graphql merges it. Only objects
//! whose fields never wait on I/O belong in it: a field that does wait still
//! works, but holds up the fields after it.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::indexmap::map::Entry;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{ContainerType, resolve_container};
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// A list of plain objects, resolved in order (see the module).
pub struct InOrder<T>(pub Vec<T>);

impl<T> FromIterator<T> for InOrder<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        InOrder(items.into_iter().collect())
    }
}

impl<T: ContainerType + OutputType + Sync> OutputType for InOrder<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        let mut items = Vec::with_capacity(self.0.len());
        for (index, item) in self.0.iter().enumerate() {
            let ctx_item = ctx.with_index(index);
            let value = resolve_object(item, &ctx_item).await.map_err(|error| ctx_item.set_error_path(error))?;
            items.push(value);
        }
        Ok(Value::List(items))
    }
}

/// `root`'s selected fields, one after the other.
async fn resolve_object<'a, T: ContainerType + OutputType>(
    root: &'a T,
    ctx: &ContextSelectionSet<'a>,
) -> ServerResult<Value> {
    let mut fields = Vec::new();
    if !selected_fields(root, ctx, &ctx.item.node, &mut fields, 0) {
        // Custom directives, or fragments nested past any real query: the
        // general path handles them.
        return resolve_container(ctx, root).await;
    }
    let mut results = IndexMap::with_capacity(fields.len());
    for field in fields {
        let key = field.node.response_key().node.clone();
        if field.node.name.node == "__typename" {
            insert_value(&mut results, key, Value::String(root.introspection_type_name().into_owned()));
            continue;
        }
        let ctx_field = ctx.with_field(field);
        match root.resolve_field(&ctx_field).await {
            Ok(value) => insert_value(&mut results, key, value.unwrap_or_default()),
            // As async-graphql does: the error is the response's, the field is left out.
            Err(error) => ctx.add_error(error),
        }
    }
    Ok(if results.is_empty() { Value::Null } else { Value::Object(results) })
}

/// Collects the fields of `set` that apply to `root`, through fragments
/// whose type condition it meets (its own type or an interface it
/// implements), as `Fields::add_set` selects them. `false` when a field
/// carries a directive (`@skip` and `@include` are gone by now; others
/// need async-graphql's own path).
fn selected_fields<'a, T: OutputType>(
    root: &T,
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    out: &mut Vec<&'a Positioned<Field>>,
    depth: usize,
) -> bool {
    if depth > 32 {
        return false;
    }
    for selection in &set.items {
        let (condition, nested) = match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return false;
                }
                out.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node) else {
                    return false;
                };
                (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => (
                fragment.node.type_condition.as_ref().map(|condition| condition.node.on.node.as_str()),
                &fragment.node.selection_set.node,
            ),
        };
        let own = root.introspection_type_name();
        let applies = condition.is_none_or(|condition| {
            own == condition
                || T::type_name() == condition
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(own.as_ref())
                    .is_some_and(|interfaces| interfaces.contains(condition))
        });
        if applies && !selected_fields(root, ctx, nested, out, depth + 1) {
            return false;
        }
    }
    true
}

/// async-graphql's merge of a field selected twice under one response key:
/// objects (and lists of objects) merge key by key, the first value stays.
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    // One hash of the key, not a look-up and then an insert: this runs
    // for every field of every entry.
    let previous = match target.entry(name) {
        Entry::Vacant(vacant) => {
            vacant.insert(value);
            return;
        }
        Entry::Occupied(occupied) => occupied.into_mut(),
    };
    match (previous, value) {
        (Value::Object(target_map), Value::Object(object)) => {
            for (key, value) in object {
                insert_value(target_map, key, value);
            }
        }
        (Value::List(target_list), Value::List(list)) => {
            for (index, value) in list.into_iter().enumerate() {
                if let (Some(Value::Object(target_map)), Value::Object(object)) = (target_list.get_mut(index), value) {
                    for (key, value) in object {
                        insert_value(target_map, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Interface, Object, Schema, SimpleObject};

    use super::*;

    #[derive(Clone)]
    struct Entry {
        id: i32,
        title: String,
        tags: Vec<String>,
    }

    #[derive(SimpleObject, Clone)]
    struct Nested {
        depth: i32,
        label: String,
    }

    #[derive(Interface)]
    #[graphql(field(name = "id", ty = "i32"))]
    enum Identified {
        Entry(EntryObject),
    }

    #[derive(Clone)]
    struct EntryObject(Entry);

    #[Object(name = "Entry")]
    impl EntryObject {
        async fn id(&self) -> i32 {
            self.0.id
        }
        async fn title(&self) -> &str {
            &self.0.title
        }
        async fn tags(&self) -> &[String] {
            &self.0.tags
        }
        async fn nested(&self) -> Nested {
            Nested { depth: self.0.id * 2, label: format!("n{}", self.0.id) }
        }
        async fn failing(&self) -> async_graphql::Result<Option<i32>> {
            Err("no".into())
        }
        /// A field that really waits: it still resolves, in order.
        async fn later(&self) -> i32 {
            tokio::task::yield_now().await;
            self.0.id + 100
        }
    }

    struct Query;

    fn entries() -> Vec<EntryObject> {
        (1..=3)
            .map(|id| EntryObject(Entry { id, title: format!("t{id}"), tags: vec!["a".into(), "b".into()] }))
            .collect()
    }

    #[Object]
    impl Query {
        async fn general(&self) -> Vec<EntryObject> {
            entries()
        }
        async fn in_order(&self) -> InOrder<EntryObject> {
            InOrder(entries())
        }
        async fn any(&self) -> Vec<Identified> {
            Vec::new()
        }
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription).finish()
    }

    /// The same selection through both paths gives the same response.
    async fn same(selection: &str, variables: serde_json::Value) {
        let schema = schema();
        let run = |field: &str| {
            let query = selection.replace("LIST", field);
            let request =
                async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables.clone()));
            schema.execute(request)
        };
        let (general, in_order) = (run("general").await, run("inOrder").await);
        let json = |response: async_graphql::Response| serde_json::to_string(&response).unwrap();
        let (general, in_order) = (json(general), json(in_order).replace("inOrder", "general"));
        assert_eq!(in_order, general, "{selection}");
    }

    #[tokio::test]
    async fn resolves_as_the_general_path_does() {
        same("{ LIST { id title tags } }", serde_json::json!({})).await;
        same("{ x: LIST { t: title id __typename } }", serde_json::json!({})).await;
        same("{ LIST { title nested { depth } nested { label depth } title } }", serde_json::json!({})).await;
        same("{ LIST { ...F id } } fragment F on Entry { tags title }", serde_json::json!({})).await;
        same("{ LIST { ... on Identified { id } ... on Entry { title } ... { tags } } }", serde_json::json!({})).await;
        same(
            "query($yes: Boolean!) { LIST { id @include(if: $yes) title @skip(if: $yes) tags } }",
            serde_json::json!({ "yes": true }),
        )
        .await;
        same("{ LIST { id failing title } }", serde_json::json!({})).await;
    }

    #[tokio::test]
    async fn a_field_that_waits_still_resolves_in_selection_order() {
        // async-graphql's own path puts such a field after the ready ones;
        // the response follows the selection, as the spec says.
        let response = schema().execute("{ inOrder { later id } }").await;
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"data":{"inOrder":[{"later":101,"id":1},{"later":102,"id":2},{"later":103,"id":3}]}}"#
        );
    }

    #[test]
    fn has_the_schema_type_of_a_vec() {
        let sdl = schema().sdl();
        assert!(sdl.contains("general: [Entry!]!"), "{sdl}");
        assert!(sdl.contains("inOrder: [Entry!]!"), "{sdl}");
    }
}
