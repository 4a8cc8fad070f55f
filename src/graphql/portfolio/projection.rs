//! From the fields a query selects on `Portfolio` to the MongoDB projection
//! that fetches just those (plus what computed fields need), so a reviewer
//! listing names and statuses does not pull whole documents.

use async_graphql::Lookahead;

use crate::app::records::{Projection, SECTION_FIELDS};

/// Stored fields besides the sections that a GraphQL field of the same
/// name reads (each section is read by the field of its name too).
const STORED: &[&str] =
    &["applicant", "createdAt", "updatedAt", "submittedAt", "decidedAt", "endorsedAt", "reviewNote", "extra"];

/// Computed fields: they read every section the engine knows (a single
/// portfolio fetches them with the rest; a page, see [`for_page`]).
const COMPUTED: &[&str] = &["eligibility", "recommendations"];

/// Whether the `Portfolio` selection evaluates requirements (then the
/// applicant's records are read too).
pub fn evaluates(portfolio: &Lookahead<'_>) -> bool {
    COMPUTED.iter().any(|field| portfolio.field(field).exists())
}

/// `portfolio` is the look-ahead at a `Portfolio` selection. async-graphql's
/// look-ahead flattens fragments and ignores `@skip/@include`, so this is a
/// safe superset of what the query reads.
pub fn for_selection(portfolio: Lookahead<'_>) -> Projection {
    if evaluates(&portfolio) {
        return Projection::all();
    }
    shown(&portfolio, &[])
}

/// The projection of a page. Computed fields do not make it fetch the
/// sections: those are fetched on first need, and only for the page's
/// portfolios whose evaluation is not kept (see [`crate::app::page_sections`]). It
/// fetches the applicant then, whose records the engine reads.
pub fn for_page(portfolio: Lookahead<'_>) -> Projection {
    if evaluates(&portfolio) {
        return shown(&portfolio, &["applicant"]);
    }
    shown(&portfolio, &[])
}

/// The stored fields `portfolio` shows, and `also`.
fn shown(portfolio: &Lookahead<'_>, also: &[&'static str]) -> Projection {
    // A projection makes the server copy the fields it keeps. Measured on
    // SecantusDB (server CPU per find_one by _id): 0.73 ms plain, 1.41 ms
    // with the 24-field projection a full selection names, 1.12 ms keeping
    // three sections, 0.83 ms keeping none. The sections are the bulk of a
    // document, so a projection pays (fewer bytes sent and decoded) only
    // when it leaves most of them behind.
    let sections = SECTION_FIELDS.iter().filter(|field| portfolio.field(field).exists()).count();
    if sections * 2 > SECTION_FIELDS.len() {
        return Projection::all();
    }
    let stored = STORED.iter().chain(SECTION_FIELDS).copied().filter(|field| portfolio.field(field).exists());
    Projection::only(stored.chain(also.iter().copied()))
}
