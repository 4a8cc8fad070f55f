//! Aggregates for reporting, computed by MongoDB: one `$facet` pipeline over
//! the filtered portfolios (counts, groupings, percentiles), one over the
//! evidence backlog, and a projected cursor for the requirement engine.
//!
//! The pipelines are public so that benchmarks and tests can run exactly
//! what the API runs, straight through the driver.

use std::time::Duration;

use chrono::NaiveDate;
use futures::{Stream, TryStreamExt};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};

use super::portfolio::{
    self, PortfolioDocument, PortfolioStore, Projection, SECTION_FIELDS, one_of, submitted_between,
};
use super::{Store, StoreError, TenantScope, evidence};
use crate::domain::model::{Category, EvidenceStatus, Track};

/// Which portfolios a report covers. Every field narrows; `from`/`to` select
/// portfolios by their submission date (inclusive), so a date range leaves
/// out drafts that were never submitted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub track: Option<Track>,
    /// Empty: every category.
    pub categories: Vec<Category>,
    /// Exact match on the applicant's region.
    pub region: Option<String>,
}

impl StatsFilter {
    /// The `$match` document. Each filter is written so that one of the
    /// compound indexes `stats_*` (equality first, then `submittedAt`) can
    /// serve it: a single category is an equality, not a one-element `$in`.
    pub fn to_match(&self, zone: chrono_tz::Tz) -> Document {
        let mut filter = Document::new();
        if let Some(track) = self.track {
            filter.insert("track", track.as_str());
        }
        if let Some(categories) = one_of(&self.categories) {
            filter.insert("targetCategory", categories);
        }
        if let Some(region) = &self.region {
            filter.insert("applicant.region", region.as_str());
        }
        if let Some(submitted) = submitted_between(self.from, self.to, zone) {
            filter.insert("submittedAt", submitted);
        }
        filter
    }

    /// This filter restricted to portfolios targeting `category`; `None`
    /// when the filter's categories leave that one out (nothing matches).
    pub fn only_category(&self, category: Category) -> Option<StatsFilter> {
        if !self.categories.is_empty() && !self.categories.contains(&category) {
            return None;
        }
        Some(StatsFilter { categories: vec![category], ..self.clone() })
    }

    fn narrows(&self) -> bool {
        self.to_match(chrono_tz::UTC) != Document::new()
    }
}

/// One part of the portfolio pipeline's `$facet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    ByStatus,
    ByCategory,
    ByTrack,
    SubmittedByMonth,
    EndorsedByYear,
    DaysToDecision,
    TrainingHours,
}

impl Facet {
    pub const ALL: [Facet; 7] = [
        Facet::ByStatus,
        Facet::ByCategory,
        Facet::ByTrack,
        Facet::SubmittedByMonth,
        Facet::EndorsedByYear,
        Facet::DaysToDecision,
        Facet::TrainingHours,
    ];

    /// The facet's output name, which is also the `Stats` field it feeds.
    pub fn name(self) -> &'static str {
        match self {
            Facet::ByStatus => "byStatus",
            Facet::ByCategory => "byCategory",
            Facet::ByTrack => "byTrack",
            Facet::SubmittedByMonth => "submittedByMonth",
            Facet::EndorsedByYear => "endorsedByYear",
            Facet::DaysToDecision => "daysToDecision",
            Facet::TrainingHours => "trainingHours",
        }
    }

    fn stages(self, zone: chrono_tz::Tz) -> Vec<Document> {
        let count_by = |key: Bson| vec![doc! { "$group": { "_id": key, "n": { "$sum": 1 } } }];
        let dated = |field: &str| doc! { "$match": { field: { "$type": "date" } } };
        let year_month = |field: &str, format: &str| {
            Bson::Document(doc! { "$dateToString": {
                "format": format, "date": format!("${field}"), "timezone": zone.name(),
            } })
        };
        match self {
            Facet::ByStatus => count_by("$status".into()),
            Facet::ByCategory => count_by("$targetCategory".into()),
            Facet::ByTrack => count_by("$track".into()),
            Facet::SubmittedByMonth => {
                let mut stages = vec![dated("submittedAt")];
                stages.extend(count_by(year_month("submittedAt", "%Y-%m")));
                stages
            }
            Facet::EndorsedByYear => {
                let mut stages = vec![dated("endorsedAt")];
                stages.extend(count_by(year_month("endorsedAt", "%Y")));
                stages
            }
            Facet::DaysToDecision => {
                let mut stages = vec![doc! { "$match": {
                    "submittedAt": { "$type": "date" },
                    "decidedAt": { "$type": "date" },
                } }];
                // Milliseconds as numbers: not every MongoDB-protocol server
                // subtracts two dates.
                let elapsed = doc! { "$subtract": [{ "$toLong": "$decidedAt" }, { "$toLong": "$submittedAt" }] };
                let days = doc! { "$divide": [elapsed, MS_PER_DAY] };
                stages.extend(percentile_stages(days));
                stages
            }
            // `$sum` over `$map` rather than over "$training.hours": some
            // MongoDB-protocol servers do not sum an array path.
            Facet::TrainingHours => {
                percentile_stages(doc! { "$sum": { "$map": { "input": "$training", "in": "$$this.hours" } } })
            }
        }
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// p50, p90 and max of `value` over the facet's documents, on the server:
/// sort, collect the values into one array, pick ranks. Percentiles are
/// nearest-rank: the smallest value with at least p% of the values at or
/// below it, so every figure is a value that occurred.
fn percentile_stages(value: Document) -> Vec<Document> {
    // ceil(p * n / 100) - 1 in integers: (p * n + 99) / 100 truncated.
    let rank = |p: i32| {
        doc! { "$arrayElemAt": ["$values", { "$toInt": { "$max": [0, { "$subtract": [
            { "$trunc": { "$divide": [{ "$add": [{ "$multiply": [p, { "$size": "$values" }] }, 99] }, 100] } },
            1,
        ] }] } }] }
    };
    vec![
        doc! { "$project": { "_id": 0, "v": value } },
        doc! { "$sort": { "v": 1 } },
        doc! { "$group": { "_id": Bson::Null, "values": { "$push": "$v" } } },
        doc! { "$project": {
            "_id": 0,
            "n": { "$size": "$values" },
            "p50": rank(50),
            "p90": rank(90),
            "max": { "$arrayElemAt": ["$values", -1] },
        } },
    ]
}

/// `filter`'s conditions within the scope's association, which comes
/// first (every index leads with it).
fn tenant_match(scope: &TenantScope, filter: &StatsFilter) -> Document {
    let mut conditions = doc! { "association": scope.association.as_str() };
    conditions.extend(filter.to_match(scope.time_zone));
    conditions
}

/// The portfolio pipeline: `$match` then one `$facet` holding the total
/// (always: suppression needs it) and the requested facets.
pub fn portfolio_pipeline(scope: &TenantScope, filter: &StatsFilter, facets: &[Facet]) -> Vec<Document> {
    let mut branches = doc! { "portfolios": [{ "$count": "n" }] };
    for facet in facets {
        branches.insert(facet.name(), facet.stages(scope.time_zone));
    }
    vec![doc! { "$match": tenant_match(scope, filter) }, doc! { "$facet": branches }]
}

/// Evidence UPLOADED and waiting for a reviewer, by kind. It starts from the
/// evidence (the backlog is small, and `status_kind` serves it) and looks up
/// the portfolio only when the filter needs portfolio fields.
pub fn backlog_pipeline(scope: &TenantScope, filter: &StatsFilter) -> Vec<Document> {
    let association = &scope.association;
    let mut pipeline =
        vec![doc! { "$match": { "association": association.as_str(), "status": EvidenceStatus::Uploaded.as_str() } }];
    if filter.narrows() {
        let portfolio_match: Document = filter
            .to_match(scope.time_zone)
            .into_iter()
            .map(|(field, condition)| (format!("portfolio.{field}"), condition))
            .collect();
        pipeline.extend([
            doc! { "$lookup": {
                "from": portfolio::COLLECTION,
                "localField": "portfolioId",
                "foreignField": "_id",
                "pipeline": [{ "$match": { "association": association.as_str() } }, { "$project": {
                    "track": 1, "targetCategory": 1, "applicant.region": 1, "submittedAt": 1,
                } }],
                "as": "portfolio",
            } },
            doc! { "$unwind": "$portfolio" },
            doc! { "$match": portfolio_match },
        ]);
    }
    // Files per kind, and how many portfolios (people) they belong to: two
    // hash groupings, rather than `$addToSet` arrays that grow with the data.
    pipeline.push(doc! { "$group": { "_id": { "kind": "$kind", "portfolio": "$portfolioId" }, "n": { "$sum": 1 } } });
    pipeline.push(doc! { "$group": { "_id": "$_id.kind", "n": { "$sum": "$n" }, "people": { "$sum": 1 } } });
    pipeline
}

/// Order statistics of one measure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    pub n: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
}

/// Raw, unsuppressed results of [`portfolio_pipeline`]. Counts are
/// `(key, count)` in no particular order; keys with no documents are absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortfolioAggregates {
    pub portfolios: u64,
    pub by_status: Vec<(String, u64)>,
    pub by_category: Vec<(String, u64)>,
    pub by_track: Vec<(String, u64)>,
    pub submitted_by_month: Vec<(String, u64)>,
    pub endorsed_by_year: Vec<(String, u64)>,
    pub days_to_decision: Distribution,
    pub training_hours: Distribution,
}

/// Documents fetched per round trip when streaming portfolios to the engine.
const ENGINE_BATCH: u32 = 256;

/// Reports over one association's portfolios and evidence.
#[derive(Clone)]
pub struct StatsStore {
    scope: TenantScope,
    portfolios: Collection<Document>,
    documents: PortfolioStore,
    evidence: Collection<Document>,
    /// Server-side limit of every report query (`maxTimeMS`): when a request
    /// times out, MongoDB stops working on it too.
    time_limit: Duration,
}

impl StatsStore {
    pub fn new(store: &Store, scope: TenantScope, time_limit: Duration) -> Self {
        let portfolios = store.database().collection::<Document>(portfolio::COLLECTION);
        let evidence = store.database().collection::<Document>(evidence::COLLECTION);
        let documents = PortfolioStore::new(store, &scope);
        StatsStore { scope, portfolios, documents, evidence, time_limit }
    }

    pub async fn portfolio_aggregates(
        &self,
        filter: &StatsFilter,
        facets: &[Facet],
    ) -> Result<PortfolioAggregates, StoreError> {
        let mut cursor = self
            .portfolios
            .aggregate(portfolio_pipeline(&self.scope, filter, facets))
            .max_time(self.time_limit)
            .await?;
        let result = cursor.try_next().await?.unwrap_or_default();
        let rows = |name: &str| result.get_array(name).map(Vec::as_slice).unwrap_or_default();
        let total = rows("portfolios").first().and_then(Bson::as_document).map_or(0, |row| count_value(row.get("n")));
        Ok(PortfolioAggregates {
            portfolios: total,
            by_status: counts_of(rows("byStatus")),
            by_category: counts_of(rows("byCategory")),
            by_track: counts_of(rows("byTrack")),
            submitted_by_month: counts_of(rows("submittedByMonth")),
            endorsed_by_year: counts_of(rows("endorsedByYear")),
            days_to_decision: distribution_of(rows("daysToDecision")),
            training_hours: distribution_of(rows("trainingHours")),
        })
    }

    /// `(evidence kind, files, portfolios)` of UPLOADED evidence on
    /// matching portfolios.
    pub async fn evidence_backlog(&self, filter: &StatsFilter) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let rows: Vec<Document> = self
            .evidence
            .aggregate(backlog_pipeline(&self.scope, filter))
            .max_time(self.time_limit)
            .await?
            .try_collect()
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let kind = row.get_str("_id").ok()?.to_owned();
                Some((kind, count_value(row.get("n")), count_value(row.get("people"))))
            })
            .collect())
    }

    /// The matching portfolios with just the fields the engine reads, as a
    /// stream fetched in batches: memory stays flat however many match.
    /// The matching portfolios' ids, owners, statuses and submission
    /// times (for reports joined with other collections in memory).
    pub async fn process_inputs(&self, filter: &StatsFilter) -> Result<Vec<PortfolioDocument>, StoreError> {
        let stream = self
            .documents
            .stream(
                filter.to_match(self.scope.time_zone),
                &Projection::only(["submittedAt"]),
                ENGINE_BATCH,
                self.time_limit,
            )
            .await?;
        stream.try_collect().await
    }

    pub async fn engine_inputs(
        &self,
        filter: &StatsFilter,
    ) -> Result<impl Stream<Item = Result<PortfolioDocument, StoreError>> + Send + use<>, StoreError> {
        // The sections, `submittedAt` for the default `asOf`, and the
        // applicant (their email finds their membership records).
        let fields = SECTION_FIELDS.iter().copied().chain(["submittedAt", "applicant"]);
        self.documents
            .stream(filter.to_match(self.scope.time_zone), &Projection::only(fields), ENGINE_BATCH, self.time_limit)
            .await
    }
}

fn count_value(value: Option<&Bson>) -> u64 {
    match value {
        Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Double(n)) if *n >= 0.0 => *n as u64,
        _ => 0,
    }
}

/// `[{_id: key, n: count}]` rows of a `$group`; other rows are skipped.
fn counts_of(rows: &[Bson]) -> Vec<(String, u64)> {
    rows.iter()
        .filter_map(Bson::as_document)
        .filter_map(|row| {
            let key = match row.get("_id")? {
                Bson::String(key) => key.clone(),
                Bson::Int32(n) => n.to_string(),
                Bson::Int64(n) => n.to_string(),
                _ => return None,
            };
            Some((key, count_value(row.get("n"))))
        })
        .collect()
}

fn distribution_of(rows: &[Bson]) -> Distribution {
    let Some(row) = rows.first().and_then(Bson::as_document) else {
        return Distribution::default();
    };
    let number = |name: &str| match row.get(name) {
        Some(Bson::Double(v)) => Some(*v),
        Some(Bson::Int32(v)) => Some(f64::from(*v)),
        Some(Bson::Int64(v)) => Some(*v as f64),
        _ => None,
    };
    Distribution { n: count_value(row.get("n")), p50: number("p50"), p90: number("p90"), max: number("max") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::association::AssociationCode;
    use mongodb::bson::DateTime;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn filters_become_index_friendly_matches() {
        let utc = chrono_tz::UTC;
        assert_eq!(StatsFilter::default().to_match(utc), doc! {});
        let filter = StatsFilter {
            from: Some(day(2024, 1, 1)),
            to: Some(day(2024, 12, 31)),
            track: Some(Track::Infant),
            categories: vec![Category::FamilyAssociate],
            region: Some("Hudson Valley".into()),
        };
        assert_eq!(
            filter.to_match(utc),
            doc! {
                "track": "INFANT",
                "targetCategory": "FAMILY_ASSOCIATE",
                "applicant.region": "Hudson Valley",
                "submittedAt": {
                    "$gte": DateTime::parse_rfc3339_str("2024-01-01T00:00:00Z").unwrap(),
                    "$lt": DateTime::parse_rfc3339_str("2025-01-01T00:00:00Z").unwrap(),
                },
            }
        );
        let two =
            StatsFilter { categories: vec![Category::FamilyAssociate, Category::MentorPolicy], ..Default::default() };
        assert_eq!(two.to_match(utc), doc! { "targetCategory": { "$in": ["FAMILY_ASSOCIATE", "MENTOR_POLICY"] } });
        // Days are the association's: New York's 1 January starts at 05:00 UTC.
        let new_york = filter.to_match(chrono_tz::America::New_York);
        assert_eq!(
            new_york.get_document("submittedAt").unwrap(),
            &doc! {
                "$gte": DateTime::parse_rfc3339_str("2024-01-01T05:00:00Z").unwrap(),
                "$lt": DateTime::parse_rfc3339_str("2025-01-01T05:00:00Z").unwrap(),
            }
        );
    }

    #[test]
    fn restricting_to_a_category_outside_the_filter_matches_nothing() {
        let filter = StatsFilter { categories: vec![Category::FamilyAssociate], ..Default::default() };
        assert!(filter.only_category(Category::MentorPolicy).is_none());
        assert_eq!(
            StatsFilter::default().only_category(Category::MentorPolicy).unwrap().categories,
            vec![Category::MentorPolicy]
        );
    }

    #[test]
    fn the_backlog_looks_portfolios_up_only_when_filtered() {
        let scope = TenantScope::new(&AssociationCode::nys_aimh(), chrono_tz::UTC);
        assert_eq!(backlog_pipeline(&scope, &StatsFilter::default()).len(), 3);
        assert_eq!(
            backlog_pipeline(&scope, &StatsFilter::default())[0],
            doc! { "$match": { "association": "nys-aimh", "status": "UPLOADED" } }
        );
        let filter = StatsFilter { track: Some(Track::Infant), ..Default::default() };
        let pipeline = backlog_pipeline(&scope, &filter);
        assert_eq!(pipeline.len(), 6);
        assert_eq!(pipeline[3], doc! { "$match": { "portfolio.track": "INFANT" } });
    }

    #[test]
    fn group_rows_become_counts() {
        let rows = vec![
            Bson::Document(doc! { "_id": "DRAFT", "n": 3 }),
            Bson::Document(doc! { "_id": 2024, "n": 2_i64 }),
            Bson::Document(doc! { "_id": Bson::Null, "n": 1 }),
        ];
        assert_eq!(counts_of(&rows), vec![("DRAFT".into(), 3), ("2024".into(), 2)]);
        let row = Bson::Document(doc! { "n": 4, "p50": 2.5, "p90": 7, "max": 9.0 });
        assert_eq!(distribution_of(&[row]), Distribution { n: 4, p50: Some(2.5), p90: Some(7.0), max: Some(9.0) });
        assert_eq!(distribution_of(&[]), Distribution::default());
    }
}
