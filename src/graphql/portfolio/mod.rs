//! Portfolios: the `Portfolio` type, reviewer queries, the rulebook query and
//! the portfolio mutations.

mod eligibility;
mod entries;
pub mod inputs;
mod mutation;
mod object;
pub mod projection;
mod query;

pub use mutation::PortfolioMutation;
pub use object::PortfolioObject;
pub use query::PortfolioQuery;
