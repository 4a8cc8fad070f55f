//! The `renewal` section of a rulebook file as written (see
//! rulebooks/README.md), checked into [`RenewalRules`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::super::model::Category;
use super::super::rulebook::Requirement;
use super::super::rulebook::raw::{W, unique_keys};
use super::{Era, RenewalRules, Requirements};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRenewal {
    /// "MM-DD" of the final year.
    window_opens: String,
    cycles: Vec<RawEra>,
    reinstatement: RawRequirements,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawEra {
    first_ends: NaiveDate,
    years: u32,
    #[serde(default)]
    requirements: Vec<Requirement>,
    #[serde(default)]
    categories: BTreeMap<W<Category>, Vec<Requirement>>,
    #[serde(default)]
    providers: Vec<Requirement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRequirements {
    #[serde(default)]
    requirements: Vec<Requirement>,
    #[serde(default)]
    categories: BTreeMap<W<Category>, Vec<Requirement>>,
    #[serde(default)]
    providers: Vec<Requirement>,
}

/// A problem: the JSON path under `renewal`, and what is wrong.
type Problem = (String, String);

fn requirements(
    path: &str,
    all: Vec<Requirement>,
    categories: BTreeMap<W<Category>, Vec<Requirement>>,
    providers: Vec<Requirement>,
) -> Result<Requirements, Problem> {
    let requirements =
        Requirements { all, categories: categories.into_iter().map(|(c, nodes)| (c.0, nodes)).collect(), providers };
    // Keys are unique in every tree someone can be evaluated against.
    for category in Category::ALL {
        let nodes = requirements.for_category(*category, true);
        unique_keys(&nodes).map_err(|message| (format!("{path}.categories.{}", category.as_str()), message))?;
    }
    Ok(requirements)
}

impl RawRenewal {
    pub fn check(self) -> Result<RenewalRules, Problem> {
        let window_opens = self
            .window_opens
            .split_once('-')
            .and_then(|(month, day)| Some((month.parse::<u32>().ok()?, day.parse::<u32>().ok()?)))
            .filter(|(month, day)| NaiveDate::from_ymd_opt(2001, *month, *day).is_some())
            .ok_or_else(|| {
                ("windowOpens".to_owned(), format!("`{}` is not a day of the year (MM-DD)", self.window_opens))
            })?;
        if self.cycles.is_empty() {
            return Err(("cycles".into(), "renewal rules need at least one kind of cycle".into()));
        }
        let mut eras: Vec<Era> = Vec::with_capacity(self.cycles.len());
        for (index, raw) in self.cycles.into_iter().enumerate() {
            let path = format!("cycles[{index}]");
            if !(1..=10).contains(&raw.years) {
                return Err((format!("{path}.years"), format!("a cycle lasts 1 to 10 years (got {})", raw.years)));
            }
            if let Some(previous) = eras.last()
                && raw.first_ends <= previous.first_ends
            {
                return Err((
                    format!("{path}.firstEnds"),
                    format!("{} is not after the previous cycles' first end {}", raw.first_ends, previous.first_ends),
                ));
            }
            let requirements = requirements(&path, raw.requirements, raw.categories, raw.providers)?;
            eras.push(Era { first_ends: raw.first_ends, years: raw.years, requirements });
        }
        let reinstatement = self.reinstatement;
        let reinstatement = requirements(
            "reinstatement",
            reinstatement.requirements,
            reinstatement.categories,
            reinstatement.providers,
        )?;
        Ok(RenewalRules { window_opens, eras, reinstatement })
    }
}
