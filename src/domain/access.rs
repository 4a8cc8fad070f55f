//! The access policy's answers, as plain values the store turns into
//! filters: which records of the caller's association they may see.

/// Which portfolios of an association a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioAccess {
    Nothing,
    Everything,
    /// The union of: the portfolios `owner` holds, and (when `submitted`)
    /// every portfolio submitted at least once.
    Some {
        owner: Option<String>,
        submitted: bool,
    },
}
