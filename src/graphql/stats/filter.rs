//! The `StatsFilter` input and its checks.

use async_graphql::InputObject;

use crate::app::error::{AppError, AppResult};
use crate::app::records::StatsFilter;
use crate::domain::model::{Category, Track};
use crate::graphql::scalars::Date;

/// Longest region name accepted in a filter.
const MAX_REGION_CHARS: usize = 200;

/// Which portfolios a report covers; every field narrows.
#[derive(InputObject, Default, Debug, Clone)]
#[graphql(name = "StatsFilter")]
pub struct StatsFilterInput {
    /// Submitted on or after this date (UTC). A date range leaves out drafts
    /// never submitted.
    pub from: Option<Date>,
    /// Submitted on or before this date (UTC).
    pub to: Option<Date>,
    pub track: Option<Track>,
    /// Target categories; empty or absent means all.
    pub category: Option<Vec<Category>>,
    /// The applicant's region, matched exactly.
    pub region: Option<String>,
}

impl StatsFilterInput {
    pub fn into_filter(self) -> AppResult<StatsFilter> {
        let from = self.from.map(|d| d.0);
        let to = self.to.map(|d| d.0);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(AppError::bad_input("filter.to", "`to` is before `from`"));
        }
        let region = match self.region {
            None => None,
            Some(region) => {
                let region = region.trim().to_owned();
                if region.is_empty() {
                    return Err(AppError::bad_input("filter.region", "`region` is empty; leave it out to include all"));
                }
                if region.chars().count() > MAX_REGION_CHARS {
                    return Err(AppError::bad_input(
                        "filter.region",
                        format!("`region` is longer than {MAX_REGION_CHARS} characters"),
                    ));
                }
                Some(region)
            }
        };
        let mut categories = self.category.unwrap_or_default();
        categories.sort();
        categories.dedup();
        Ok(StatsFilter { from, to, track: self.track, categories, region })
    }
}
