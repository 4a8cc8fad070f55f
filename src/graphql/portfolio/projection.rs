//! From the fields a query selects on `Portfolio` to the MongoDB projection
//! that fetches just those (plus what computed fields need), so a reviewer
//! listing names and statuses does not pull whole documents.

use async_graphql::Lookahead;

use crate::store::portfolio::{ENGINE_FIELDS, Projection};

/// Stored fields that a GraphQL field of the same name reads.
const STORED: &[&str] = &[
    "applicant",
    "createdAt",
    "updatedAt",
    "submittedAt",
    "education",
    "training",
    "work",
    "reflectiveSupervision",
    "leadership",
    "references",
    "exams",
    "agreement",
    "membership",
    "priorEndorsements",
    "extra",
];

/// Computed fields and the stored fields they read.
const COMPUTED: &[(&str, &[&str])] = &[("eligibility", ENGINE_FIELDS), ("recommendations", ENGINE_FIELDS)];

/// `portfolio` is the look-ahead at a `Portfolio` selection. async-graphql's
/// look-ahead flattens fragments and ignores `@skip/@include`, so this is a
/// safe superset of what the query reads.
pub fn for_selection(portfolio: Lookahead<'_>) -> Projection {
    let stored = STORED.iter().copied().filter(|field| portfolio.field(field).exists());
    let computed = COMPUTED
        .iter()
        .filter(|(field, _)| portfolio.field(field).exists())
        .flat_map(|(_, needs)| needs.iter().copied());
    Projection::only(stored.chain(computed))
}
