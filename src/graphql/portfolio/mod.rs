//! Portfolios: the `Portfolio` type, reviewer queries, the rulebook query and
//! the portfolio mutations.

pub(crate) mod eligibility;
mod entries;
pub mod inputs;
pub(crate) mod mutation;
mod object;
pub mod projection;
pub(crate) mod query;
mod review;

pub use mutation::PortfolioMutation;
pub use object::PortfolioObject;
pub use query::PortfolioQuery;
pub use review::ReviewMutation;
