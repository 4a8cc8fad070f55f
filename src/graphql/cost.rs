//! What a GraphQL document costs, worked out before async-graphql parses it
//! for execution or validates it. async-graphql's own depth, recursion and
//! complexity checks walk fragment spreads without memoising them, so a 2 KB
//! document whose fragments each spread the next one twice keeps a worker
//! busy for minutes (2^30 visits). Here every fragment is summarised once and
//! a spread adds its summary, so the whole check is linear in the text.
//!
//! Three figures, each with a configured cap:
//! - **selections**: fields after expanding every fragment, over the whole
//!   document (validation visits each of them, used or not);
//! - **depth**: nested selection sets (fields), and **nesting** counting
//!   fragments too, the way async-graphql's recursion check counts;
//! - **cost**: fields weighted by how much work they cause: list fields by
//!   their size (page size, entries per section), the requirement engine by
//!   the categories it evaluates, reports by the collection they scan. The
//!   rate limiter charges by this figure too.

use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql_value::{ConstValue, Value};

/// The caps and the sizes list fields are weighed by.
#[derive(Debug, Clone)]
pub struct CostLimits {
    pub max_depth: usize,
    pub max_selections: u64,
    pub max_cost: u64,
    /// Most directives on one field, spread or operation.
    pub max_directives: usize,
    /// Largest `first` a connection serves (larger values are clamped).
    pub max_page_size: u64,
    /// Most entries a portfolio section may hold (what a section list weighs).
    pub max_section_entries: u64,
}

impl CostLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let limits = &config.limits;
        CostLimits {
            max_depth: limits.max_query_depth,
            max_selections: limits.max_query_selections,
            max_cost: limits.max_query_complexity,
            max_directives: MAX_DIRECTIVES,
            max_page_size: limits.max_page_size as u64,
            max_section_entries: limits.max_section_entries as u64,
        }
    }

    /// Brackets nested deeper than this in the raw text are refused before
    /// parsing: the parser recurses once per level, and a 256 KB body of
    /// `{a{a{a...` would otherwise overflow its stack.
    pub fn max_nesting(&self) -> usize {
        self.max_depth * 4
    }
}

/// Directives on one location: `@include`/`@skip` twice is already odd.
pub const MAX_DIRECTIVES: usize = 16;

/// Why a document was refused; each is QUERY_TOO_COMPLEX except `Syntax`
/// and `Fragment`, which are the client's mistakes (BAD_USER_INPUT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("The query is nested deeper than {limit} levels.")]
    TooDeep { limit: usize },
    #[error("The query selects more than {limit} fields once its fragments are expanded.")]
    TooManySelections { limit: u64 },
    #[error("The query is too complex: its cost exceeds {limit} (lists count by their size).")]
    TooCostly { limit: u64 },
    #[error("A field, spread or operation carries more than {limit} directives.")]
    TooManyDirectives { limit: usize },
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Fragment(String),
}

impl CostError {
    pub fn is_limit(&self) -> bool {
        !matches!(self, CostError::Syntax(_) | CostError::Fragment(_))
    }
}

/// Parses `query`, refusing first (without parsing) what nests deeper than
/// `limits` allow: the parser recurses per level.
pub fn parse(query: &str, limits: &CostLimits) -> Result<ExecutableDocument, CostError> {
    if bracket_nesting(query) > limits.max_nesting() {
        return Err(CostError::TooDeep { limit: limits.max_depth });
    }
    async_graphql::parser::parse_query(query).map_err(|e| CostError::Syntax(e.to_string()))
}

/// The figures of a parsed document.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub selections: u64,
    pub depth: usize,
    /// The cost of the operation that will run.
    pub cost: u64,
}

/// Checks a parsed document against `limits` with these variables (list
/// sizes such as `first: $n` count by their value).
pub fn weigh(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &CostLimits,
) -> Result<Figures, CostError> {
    let mut walker = Walker { document, limits, variables, fragments: HashMap::new(), defaults: None };
    let mut selections: u64 = 0;
    let mut depth = 0;
    let mut chosen_cost: Option<u64> = None;
    let mut max_cost = 0;
    for (name, operation) in document.operations.iter() {
        walker.check_directives(operation.node.directives.len())?;
        walker.defaults = Some(&operation.node);
        let summary = walker.selection_set(&operation.node.selection_set.node)?;
        selections = selections.saturating_add(summary.selections);
        depth = depth.max(summary.depth);
        max_cost = max_cost.max(summary.cost);
        let selected = match (&document.operations, operation_name) {
            (DocumentOperations::Single(_), _) => true,
            (DocumentOperations::Multiple(_), Some(wanted)) => name.is_some_and(|n| n.as_str() == wanted),
            (DocumentOperations::Multiple(_), None) => false,
        };
        if selected {
            chosen_cost = Some(summary.cost);
        }
        walker.check(selections, depth, 0)?;
    }
    // Fragment definitions are validated even when no operation spreads them.
    walker.defaults = None;
    let names: Vec<&Name> = document.fragments.keys().collect();
    for name in names {
        let summary = walker.fragment(name)?;
        selections = selections.saturating_add(summary.selections);
        walker.check(selections, depth, 0)?;
    }
    // With no operation chosen, the dearest one stands for the request.
    let cost = chosen_cost.unwrap_or(max_cost);
    walker.check(selections, depth, cost)?;
    Ok(Figures { selections, depth, cost })
}

/// The deepest nesting of `{`, `(` and `[` outside strings and comments.
pub fn bracket_nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    selections: u64,
    /// Levels of fields, this one included.
    depth: usize,
    /// Selection-set nesting below this point, fragments included.
    nesting: usize,
    cost: u64,
}

enum Memo {
    InProgress,
    Done(Summary),
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    limits: &'a CostLimits,
    variables: &'a Variables,
    fragments: HashMap<&'a Name, Memo>,
    /// The operation being walked, for its variables' default values.
    defaults: Option<&'a OperationDefinition>,
}

impl<'a> Walker<'a> {
    fn check(&self, selections: u64, depth: usize, cost: u64) -> Result<(), CostError> {
        if depth > self.limits.max_depth {
            return Err(CostError::TooDeep { limit: self.limits.max_depth });
        }
        if selections > self.limits.max_selections {
            return Err(CostError::TooManySelections { limit: self.limits.max_selections });
        }
        if cost > self.limits.max_cost {
            return Err(CostError::TooCostly { limit: self.limits.max_cost });
        }
        Ok(())
    }

    fn check_directives(&self, count: usize) -> Result<(), CostError> {
        if count > self.limits.max_directives {
            return Err(CostError::TooManyDirectives { limit: self.limits.max_directives });
        }
        Ok(())
    }

    /// Checked after every addition, so that no figure grows far past its
    /// cap before the walk stops.
    fn check_summary(&self, summary: &Summary) -> Result<(), CostError> {
        if summary.nesting > self.limits.max_nesting() {
            return Err(CostError::TooDeep { limit: self.limits.max_depth });
        }
        self.check(summary.selections, summary.depth, summary.cost)
    }

    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Summary, CostError> {
        let mut total = Summary::default();
        for item in &set.items {
            let child = match &item.node {
                Selection::Field(field) => {
                    self.check_directives(field.node.directives.len())?;
                    self.field(&field.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.check_directives(spread.node.directives.len())?;
                    self.fragment(&spread.node.fragment_name.node)?
                }
                Selection::InlineFragment(inline) => {
                    self.check_directives(inline.node.directives.len())?;
                    self.selection_set(&inline.node.selection_set.node)?
                }
            };
            total.selections = total.selections.saturating_add(child.selections);
            total.cost = total.cost.saturating_add(child.cost);
            // Fields count their own level (as async-graphql's depth does);
            // a fragment's fields stand at the level it is spread into.
            total.depth = total.depth.max(child.depth);
            total.nesting = total.nesting.max(child.nesting + 1);
            self.check_summary(&total)?;
        }
        Ok(total)
    }

    fn field(&mut self, field: &'a Field) -> Result<Summary, CostError> {
        let children = self.selection_set(&field.selection_set.node)?;
        let weight = self.weigh(field);
        let summary = Summary {
            selections: children.selections.saturating_add(1),
            depth: children.depth + 1,
            nesting: children.nesting,
            cost: weight.own.saturating_add(weight.multiplier.saturating_mul(children.cost)),
        };
        self.check_summary(&summary)?;
        Ok(summary)
    }

    fn fragment(&mut self, name: &'a Name) -> Result<Summary, CostError> {
        match self.fragments.get(name) {
            Some(Memo::Done(summary)) => return Ok(*summary),
            Some(Memo::InProgress) => {
                return Err(CostError::Fragment(format!("Fragment `{name}` spreads itself (a cycle).")));
            }
            None => {}
        }
        let Some(definition) = self.document.fragments.get(name) else {
            return Err(CostError::Fragment(format!("Unknown fragment `{name}`.")));
        };
        self.check_directives(definition.node.directives.len())?;
        self.fragments.insert(name, Memo::InProgress);
        let summary = self.selection_set(&definition.node.selection_set.node)?;
        self.fragments.insert(name, Memo::Done(summary));
        Ok(summary)
    }

    /// The integer value of argument `name`, literal or from a variable.
    fn int_argument(&self, field: &Field, name: &str) -> Option<i64> {
        let (_, value) = field.arguments.iter().find(|(arg, _)| arg.node.as_str() == name)?;
        match &value.node {
            Value::Number(number) => number.as_i64(),
            Value::Variable(variable) => {
                let given = self.variables.get(variable).cloned().or_else(|| {
                    let operation = self.defaults?;
                    operation
                        .variable_definitions
                        .iter()
                        .find(|d| d.node.name.node == *variable)
                        .and_then(|d| d.node.default_value.as_ref())
                        .map(|v| v.node.clone())
                });
                match given? {
                    ConstValue::Number(number) => number.as_i64(),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn page(&self, field: &Field, default: u64, max: u64) -> u64 {
        match self.int_argument(field, "first") {
            Some(first) => (first.max(0) as u64).min(max),
            None => default.min(max),
        }
    }

    fn weigh(&self, field: &Field) -> Weight {
        weight_of(field.name.node.as_str(), self.limits, |default, max| self.page(field, default, max))
    }
}

/// A field's own cost and how many times its selection is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Weight {
    own: u64,
    multiplier: u64,
}

/// What one run of the requirement engine for one category weighs.
pub const ENGINE_COST: u64 = 500;
/// Categories a track offers at most (the engine runs once per category
/// for `recommendations`).
const CATEGORIES_PER_TRACK: u64 = 8;

/// The weights, by field name (the schema keeps names unambiguous): one
/// table, so that a new list field is weighed where the others are.
fn weight_of(name: &str, limits: &CostLimits, page: impl Fn(u64, u64) -> u64) -> Weight {
    let list = |multiplier| Weight { own: 1, multiplier };
    match name {
        // Connections and pages: the page size asked for.
        "portfolios" => list(page(20, limits.max_page_size)),
        "auditLog" => list(page(50, 200)),
        // Portfolio sections and evidence: as many as a portfolio may hold.
        "education"
        | "training"
        | "work"
        | "reflectiveSupervision"
        | "leadership"
        | "references"
        | "exams"
        | "priorEndorsements"
        | "licenses" => list(limits.max_section_entries),
        "evidence" => list(page(100, limits.max_page_size)),
        // A portfolio's charges and their movements; a schedule's fees.
        "fees" | "movements" | "membershipRecords" | "memberships" | "advisers" => list(20),
        "comments" => list(200),
        "endorsements" | "history" | "reviewRounds" | "sections" => list(20),
        "reviewers" | "reviews" => list(2),
        // The requirement engine, once per category it evaluates.
        "eligibility" => Weight { own: ENGINE_COST, multiplier: 1 },
        "recommendations" => Weight { own: ENGINE_COST * CATEGORIES_PER_TRACK, multiplier: CATEGORIES_PER_TRACK },
        "requirements" => list(30),
        "rulebook" => list(CATEGORIES_PER_TRACK),
        // Reports scan the collection; unmet requirements run the engine on
        // every portfolio of a category.
        "stats" => Weight { own: 2_000, multiplier: 1 },
        "unmetRequirements" => Weight { own: 20_000, multiplier: 40 },
        "byStatus" | "byCategory" | "byTrack" | "evidenceBacklog" | "endorsedByYear" => list(12),
        "submittedByMonth" => list(120),
        "feesByMonth" => list(480),
        "reviewerWorkload" => list(100),
        // Introspection: this schema has under 100 types; the lists inside a
        // type are short and the whole answer is bounded by the schema.
        "types" => list(100),
        _ => Weight { own: 1, multiplier: 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CostLimits {
        CostLimits {
            max_depth: 15,
            max_selections: 1_000,
            max_cost: 100_000,
            max_directives: 16,
            max_page_size: 100,
            max_section_entries: 100,
        }
    }

    fn analyse(
        query: &str,
        operation_name: Option<&str>,
        variables: &Variables,
        limits: &CostLimits,
    ) -> Result<Figures, CostError> {
        weigh(&parse(query, limits)?, operation_name, variables, limits)
    }

    fn run(query: &str) -> Result<Figures, CostError> {
        analyse(query, None, &Variables::default(), &limits())
    }

    /// fragment F0 { ...F1 ...F1 } ... F{n} { __typename }: 2^n fields.
    fn fragment_bomb(levels: usize) -> String {
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..levels {
            let next = level + 1;
            query.push_str(&format!("fragment F{level} on Query {{ ...F{next} ...F{next} }}\n"));
        }
        query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        query
    }

    #[test]
    fn a_fragment_bomb_is_refused_at_once() {
        let started = std::time::Instant::now();
        let error = run(&fragment_bomb(30)).unwrap_err();
        assert_eq!(error, CostError::TooManySelections { limit: 1_000 });
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "{:?}", started.elapsed());
        // A small expansion is fine and counted exactly.
        let accepted = run(&fragment_bomb(3)).unwrap();
        assert_eq!(accepted.cost, 8);
    }

    #[test]
    fn fragments_are_counted_where_they_are_spread() {
        let query = "{ a { ...B ...B } } fragment B on X { b c }";
        let analysis = run(query).unwrap();
        // a + 2 × (b, c) in the operation, plus the definition itself.
        assert_eq!(analysis.selections, 5 + 2);
        assert_eq!(analysis.cost, 5);
        assert_eq!(analysis.depth, 2);
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        let mut deep = String::from("{ ");
        for _ in 0..16 {
            deep.push_str("a { ");
        }
        deep.push('b');
        deep.push_str(&" }".repeat(17));
        assert_eq!(run(&deep).unwrap_err(), CostError::TooDeep { limit: 15 });
        let through_fragment = "{ a { ...F } } fragment F on X { b { c } }";
        assert_eq!(run(through_fragment).unwrap().depth, 3);
    }

    #[test]
    fn nesting_70_deep_is_refused_before_parsing() {
        let query = format!("{}{}", "{a".repeat(70), "}".repeat(70));
        assert_eq!(run(&query).unwrap_err(), CostError::TooDeep { limit: 15 });
        // A parser stack overflow would abort the test process instead.
        let huge = format!("{}{}", "{a".repeat(100_000), "}".repeat(100_000));
        assert!(run(&huge).unwrap_err().is_limit());
        // Brackets inside strings and comments do not count.
        assert_eq!(bracket_nesting("{ a(s: \"{{{{\") # {{{{\n }"), 2);
        assert_eq!(bracket_nesting("{ a(s: \"\"\"{{{{\"\"\") }"), 2);
    }

    #[test]
    fn lists_weigh_by_their_page_size() {
        let small = run("{ portfolios(first: 5) { edges { node { id } } } }").unwrap();
        let large = run("{ portfolios(first: 50) { edges { node { id } } } }").unwrap();
        assert_eq!(small.cost, 1 + 5 * 3);
        assert_eq!(large.cost, 1 + 50 * 3);
        let clamped = run("{ portfolios(first: 100000) { edges { node { id } } } }").unwrap();
        assert_eq!(clamped.cost, 1 + 100 * 3);
        let by_default = run("{ portfolios { edges { node { id } } } }").unwrap();
        assert_eq!(by_default.cost, 1 + 20 * 3);
        let mut variables = Variables::default();
        variables.insert(Name::new("n"), ConstValue::from(7));
        let from_variable =
            analyse("query($n: Int) { portfolios(first: $n) { edges { node { id } } } }", None, &variables, &limits())
                .unwrap();
        assert_eq!(from_variable.cost, 1 + 7 * 3);
        let from_default = run("query($n: Int = 3) { portfolios(first: $n) { edges { node { id } } } }").unwrap();
        assert_eq!(from_default.cost, 1 + 3 * 3);
    }

    #[test]
    fn hundreds_of_engine_runs_are_too_costly() {
        let aliases = |n: usize| -> String {
            (0..n).map(|i| format!("p{i}: portfolio(id: \"x\") {{ eligibility {{ met }} }} ")).collect()
        };
        assert_eq!(run(&format!("{{ {} }}", aliases(300))).unwrap_err(), CostError::TooCostly { limit: 100_000 });
        assert!(run(&format!("{{ {} }}", aliases(400))).unwrap_err().is_limit());
        // A page of portfolios with their eligibility is an ordinary request.
        assert!(run("{ portfolios(first: 100) { edges { node { eligibility { met } } } } }").is_ok());
        let one = run("{ portfolio(id: \"x\") { eligibility { met } } }").unwrap();
        assert_eq!(one.cost, 1 + ENGINE_COST + 1);
    }

    #[test]
    fn the_cost_is_that_of_the_operation_that_runs() {
        let query = "query Cheap { a } query Dear { portfolios(first: 50) { edges { node { id } } } }";
        let cheap = analyse(query, Some("Cheap"), &Variables::default(), &limits()).unwrap();
        assert_eq!(cheap.cost, 1);
        let unnamed = analyse(query, None, &Variables::default(), &limits()).unwrap();
        assert_eq!(unnamed.cost, 151);
    }

    #[test]
    fn cycles_unknown_fragments_and_syntax_are_the_clients_mistakes() {
        let cycle = run("{ ...A } fragment A on Q { ...B } fragment B on Q { ...A }").unwrap_err();
        assert!(matches!(cycle, CostError::Fragment(_)), "{cycle:?}");
        assert!(!cycle.is_limit());
        assert!(matches!(run("{ ...Nope }").unwrap_err(), CostError::Fragment(_)));
        assert!(matches!(run("{ a").unwrap_err(), CostError::Syntax(_)));
    }

    #[test]
    fn directives_are_capped_per_location() {
        let many = "@include(if: true) ".repeat(17);
        assert_eq!(run(&format!("{{ a {many} }}")).unwrap_err(), CostError::TooManyDirectives { limit: 16 });
        assert!(run(&format!("{{ a {} }}", "@include(if: true) ".repeat(3))).is_ok());
    }

    #[test]
    fn the_graphiql_introspection_query_is_accepted() {
        let query = include_str!("testdata/introspection.graphql");
        let analysis = run(query).unwrap_or_else(|e| panic!("introspection passes the caps: {e:?}"));
        assert!(analysis.cost < 100_000, "{}", analysis.cost);
    }
}
