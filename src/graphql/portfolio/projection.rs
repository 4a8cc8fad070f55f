//! From the fields a query selects on `Portfolio` to the MongoDB projection
//! that fetches just those (plus what computed fields need), so a reviewer
//! listing names and statuses does not pull whole documents.

use async_graphql::Lookahead;

use crate::app::records::{Projection, SECTION_FIELDS};

/// Stored fields besides the sections that a GraphQL field of the same
/// name reads (each section is read by the field of its name too).
const STORED: &[&str] =
    &["applicant", "createdAt", "updatedAt", "submittedAt", "decidedAt", "endorsedAt", "reviewNote", "extra"];

/// Computed fields: they read every section the engine knows.
const COMPUTED: &[&str] = &["eligibility", "recommendations"];

/// `portfolio` is the look-ahead at a `Portfolio` selection. async-graphql's
/// look-ahead flattens fragments and ignores `@skip/@include`, so this is a
/// safe superset of what the query reads.
pub fn for_selection(portfolio: Lookahead<'_>) -> Projection {
    // Computed fields read nearly the whole document (the sections are its
    // bulk). Then a projection saves no bytes but costs the server work:
    // measured with benches/load.rs, a projected find_one by _id ran at half
    // the rate of a plain one. Fetch the document whole in that case.
    if COMPUTED.iter().any(|field| portfolio.field(field).exists()) {
        return Projection::all();
    }
    let stored = STORED.iter().chain(SECTION_FIELDS).copied().filter(|field| portfolio.field(field).exists());
    Projection::only(stored)
}
