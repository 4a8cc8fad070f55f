//! The access policy's answers, as plain values the store turns into
//! filters: which records of the caller's association they may see.

/// Which portfolios of an association a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioAccess {
    Nothing,
    Everything,
    /// The union of: the portfolios `owner` holds, (when `submitted`)
    /// every portfolio submitted at least once, and the portfolios the
    /// caller is `assigned` to (an adviser's; ids in hex).
    Some {
        owner: Option<String>,
        submitted: bool,
        assigned: Vec<String>,
    },
}

impl PortfolioAccess {
    /// Whether a portfolio held by `owner`, submitted at least once or
    /// not, is visible: the same answer as the store's filter, for a
    /// document already fetched by its id.
    pub fn allows(&self, id: &str, owner: &str, submitted: bool) -> bool {
        match self {
            PortfolioAccess::Nothing => false,
            PortfolioAccess::Everything => true,
            PortfolioAccess::Some { owner: own, submitted: any_submitted, assigned } => {
                own.as_deref() == Some(owner) || (*any_submitted && submitted) || assigned.iter().any(|a| a == id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PortfolioAccess;

    #[test]
    fn allows_matches_the_union_the_filter_describes() {
        let owner_only = PortfolioAccess::Some { owner: Some("me".into()), submitted: false, assigned: Vec::new() };
        assert!(owner_only.allows("p", "me", false));
        assert!(!owner_only.allows("p", "you", true));
        let reviewer = PortfolioAccess::Some { owner: None, submitted: true, assigned: Vec::new() };
        assert!(reviewer.allows("p", "you", true));
        assert!(!reviewer.allows("p", "you", false));
        let both = PortfolioAccess::Some { owner: Some("me".into()), submitted: true, assigned: Vec::new() };
        assert!(both.allows("p", "me", false) && both.allows("p", "you", true) && !both.allows("p", "you", false));
        let adviser = PortfolioAccess::Some { owner: None, submitted: false, assigned: vec!["p".into()] };
        assert!(adviser.allows("p", "you", false) && !adviser.allows("q", "you", false));
        assert!(PortfolioAccess::Everything.allows("p", "you", false));
        assert!(!PortfolioAccess::Nothing.allows("p", "me", true));
    }
}
