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

impl PortfolioAccess {
    /// Whether a portfolio held by `owner`, submitted at least once or
    /// not, is visible: the same answer as the store's filter, for a
    /// document already fetched by its id.
    pub fn allows(&self, owner: &str, submitted: bool) -> bool {
        match self {
            PortfolioAccess::Nothing => false,
            PortfolioAccess::Everything => true,
            PortfolioAccess::Some { owner: own, submitted: any_submitted } => {
                own.as_deref() == Some(owner) || (*any_submitted && submitted)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PortfolioAccess;

    #[test]
    fn allows_matches_the_union_the_filter_describes() {
        let owner_only = PortfolioAccess::Some { owner: Some("me".into()), submitted: false };
        assert!(owner_only.allows("me", false));
        assert!(!owner_only.allows("you", true));
        let reviewer = PortfolioAccess::Some { owner: None, submitted: true };
        assert!(reviewer.allows("you", true));
        assert!(!reviewer.allows("you", false));
        let both = PortfolioAccess::Some { owner: Some("me".into()), submitted: true };
        assert!(both.allows("me", false) && both.allows("you", true) && !both.allows("you", false));
        assert!(PortfolioAccess::Everything.allows("you", false));
        assert!(!PortfolioAccess::Nothing.allows("me", true));
    }
}
