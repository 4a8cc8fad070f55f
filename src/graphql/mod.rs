//! The GraphQL schema: resolvers translate the contract to the use cases of
//! [`crate::app`] and back; they hold no business rules themselves.

pub mod adviser;
pub mod association;
pub mod context;
pub mod cost;
pub mod documents;
pub mod endorsement;
pub mod error;
pub mod evidence;
pub mod execution;
pub mod fees;
pub mod in_order;
pub mod mail_template;
pub mod membership;
pub mod node;
pub mod portfolio;
mod query;
pub mod reference;
pub mod registry;
pub mod renewal;
pub mod round;
pub mod scalars;
pub mod stats;
pub mod subscription;
pub mod validated;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use portfolio::{PortfolioMutation, PortfolioQuery};
use query::QueryRoot;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    QueryRoot,
    PortfolioQuery,
    stats::StatsQuery,
    association::AssociationQuery,
    node::NodeQuery,
    reference::ReferenceQuery,
    mail_template::MailTemplateQuery,
    fees::FeeQuery,
    membership::MembershipQuery,
    endorsement::EndorsementQuery,
    registry::RegistryQuery,
    round::CycleQuery,
    renewal::RenewalQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    PortfolioMutation,
    portfolio::ReviewMutation,
    evidence::EvidenceMutation,
    association::AssociationMutation,
    reference::ReferenceMutation,
    mail_template::MailTemplateMutation,
    fees::FeeMutation,
    membership::MembershipMutation,
    adviser::AdviserMutation,
    round::RoundMutation,
    registry::RegistryMutation,
    renewal::RenewalMutation,
);

use crate::config::Config;
use crate::services::Services;

pub type EndorseSchema = Schema<Query, Mutation, subscription::Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    Schema::build(Query::default(), Mutation::default(), subscription::Subscription)
}

/// The schema the server runs, with limits and extensions from `config`.
pub fn build_schema(config: &Config, services: Services) -> EndorseSchema {
    configured(config, services).finish()
}

/// [`build_schema`] in async-graphql's `Fast` validation mode: for
/// documents that passed full validation before (see [`validated`]).
pub fn build_prevalidated_schema(config: &Config, services: Services) -> EndorseSchema {
    configured(config, services).validation_mode(async_graphql::ValidationMode::Fast).finish()
}

fn configured(config: &Config, services: Services) -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    // Depth, size and cost are checked by `cost::analyse` before the
    // document reaches async-graphql (whose own checks expand fragments
    // exponentially). These two stay as a backstop at the same caps, so
    // they can never be the first to refuse.
    let limits = cost::CostLimits::from_config(config);
    // No async-graphql extensions: logging, panic masking and auditing
    // wrap the execution instead (see `execution` for why).
    let mut builder = builder()
        .limit_recursive_depth(limits.max_nesting())
        .limit_directives(cost::MAX_DIRECTIVES)
        .disable_suggestions()
        .data(services);
    if !config.introspection_enabled() {
        builder = builder.disable_introspection();
    }
    builder
}

/// The SDL of the schema (what `endorse schema` prints and
/// `schema/schema.graphql` holds).
pub fn sdl() -> String {
    let options = async_graphql::SDLExportOptions::new().sorted_fields().sorted_enum_items().sorted_arguments();
    builder().finish().sdl_with_options(options)
}
