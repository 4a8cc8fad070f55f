//! What one request, caller or connection may ask of the server.

use clap::Args;

use super::parse::at_least;

#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Largest JSON request body, in bytes (413 beyond).
    #[arg(
        long = "max-body-bytes",
        env = "ENDORSE_MAX_BODY_BYTES",
        value_name = "ENDORSE_MAX_BODY_BYTES",
        value_parser = at_least(1024usize),
        default_value_t = 256 * 1024
    )]
    pub max_body_bytes: usize,

    /// Time limit for one HTTP request, in milliseconds.
    #[arg(
        long = "request-timeout-ms",
        env = "ENDORSE_REQUEST_TIMEOUT_MS",
        value_name = "ENDORSE_REQUEST_TIMEOUT_MS",
        value_parser = at_least(1u64),
        default_value_t = 30_000
    )]
    pub request_timeout_ms: u64,

    /// GraphQL operations slower than this, in milliseconds, are logged as warnings with their name, cost and timings (never their variables).
    #[arg(
        long = "slow-operation-ms",
        env = "ENDORSE_SLOW_OPERATION_MS",
        value_name = "ENDORSE_SLOW_OPERATION_MS",
        value_parser = at_least(1u64),
        default_value_t = 1_000
    )]
    pub slow_operation_ms: u64,

    /// Deepest field nesting a query may have (GraphiQL's introspection query needs 14).
    #[arg(
        long = "max-query-depth",
        env = "ENDORSE_MAX_QUERY_DEPTH",
        value_name = "ENDORSE_MAX_QUERY_DEPTH",
        value_parser = at_least(3usize),
        default_value_t = 15
    )]
    pub max_query_depth: usize,

    /// Highest query cost: fields, lists weighted by their size, the requirement engine by the categories it evaluates (see Security).
    #[arg(
        long = "max-query-complexity",
        env = "ENDORSE_MAX_QUERY_COMPLEXITY",
        value_name = "ENDORSE_MAX_QUERY_COMPLEXITY",
        value_parser = at_least(10u64),
        default_value_t = 100_000
    )]
    pub max_query_complexity: u64,

    /// Most fields a document may select once its fragments are expanded.
    #[arg(
        long = "max-query-selections",
        env = "ENDORSE_MAX_QUERY_SELECTIONS",
        value_name = "ENDORSE_MAX_QUERY_SELECTIONS",
        value_parser = at_least(1u64),
        default_value_t = 1000
    )]
    pub max_query_selections: u64,

    /// Most entries one portfolio section may hold (PAYLOAD_TOO_LARGE naming the section beyond).
    #[arg(
        long = "max-section-entries",
        env = "ENDORSE_MAX_SECTION_ENTRIES",
        value_name = "ENDORSE_MAX_SECTION_ENTRIES",
        value_parser = at_least(1usize),
        default_value_t = 100
    )]
    pub max_section_entries: usize,

    /// Portfolios one applicant may hold (any status).
    #[arg(
        long = "max-portfolios-per-applicant",
        env = "ENDORSE_MAX_PORTFOLIOS_PER_APPLICANT",
        value_name = "ENDORSE_MAX_PORTFOLIOS_PER_APPLICANT",
        value_parser = at_least(1u64),
        default_value_t = 10
    )]
    pub max_portfolios_per_applicant: u64,

    /// Requirement evaluations kept in memory across requests, most recently used first (0 keeps none). Each answers one portfolio version, question and rulebook revision, so none is ever stale; a few KiB each.
    #[arg(
        long = "evaluations-kept",
        env = "ENDORSE_EVALUATIONS_KEPT",
        value_name = "ENDORSE_EVALUATIONS_KEPT",
        default_value_t = 2_000
    )]
    pub evaluations_kept: usize,

    /// Stored size, in MiB, of the whole portfolios kept decoded across requests, least recently read out first (0 keeps none). A read that fetches exactly the same bytes again shares the decoded copy, so none is ever stale; the copies take about twice their stored size again.
    #[arg(
        long = "decoded-portfolios-mib",
        env = "ENDORSE_DECODED_PORTFOLIOS_MIB",
        value_name = "ENDORSE_DECODED_PORTFOLIOS_MIB",
        default_value_t = 16
    )]
    pub decoded_portfolios_mib: usize,

    /// Largest GraphQL response body, in bytes; a larger answer is refused with 413 PAYLOAD_TOO_LARGE.
    #[arg(
        long = "max-response-bytes",
        env = "ENDORSE_MAX_RESPONSE_BYTES",
        value_name = "ENDORSE_MAX_RESPONSE_BYTES",
        value_parser = at_least(1024usize),
        default_value_t = 8 * 1024 * 1024
    )]
    pub max_response_bytes: usize,

    /// Rate limit per caller (subject, or client IP when anonymous) and instance, in points a minute: a request costs one point plus one per 1,000 of its query cost (0: no limit).
    #[arg(
        long = "rate-limit-per-minute",
        env = "ENDORSE_RATE_LIMIT_PER_MINUTE",
        value_name = "ENDORSE_RATE_LIMIT_PER_MINUTE",
        default_value_t = 1200
    )]
    pub rate_limit_per_minute: u32,

    /// Points a caller may spend at once before the per-minute rate applies.
    #[arg(
        long = "rate-limit-burst",
        env = "ENDORSE_RATE_LIMIT_BURST",
        value_name = "ENDORSE_RATE_LIMIT_BURST",
        default_value_t = 200
    )]
    pub rate_limit_burst: u32,

    /// Uploads (multipart requests) being received at once; more get 429 RATE_LIMITED with `Retry-After`.
    #[arg(
        long = "max-uploads-in-flight",
        env = "ENDORSE_MAX_UPLOADS_IN_FLIGHT",
        value_name = "ENDORSE_MAX_UPLOADS_IN_FLIGHT",
        value_parser = at_least(1usize),
        default_value_t = 8
    )]
    pub max_uploads_in_flight: usize,

    /// Once a request's first byte arrived, its headers must be complete within this many milliseconds.
    #[arg(
        long = "header-read-timeout-ms",
        env = "ENDORSE_HEADER_READ_TIMEOUT_MS",
        value_name = "ENDORSE_HEADER_READ_TIMEOUT_MS",
        value_parser = at_least(1u64),
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,

    /// An idle keep-alive connection is closed after this many milliseconds.
    #[arg(
        long = "keep-alive-timeout-ms",
        env = "ENDORSE_KEEP_ALIVE_TIMEOUT_MS",
        value_name = "ENDORSE_KEEP_ALIVE_TIMEOUT_MS",
        value_parser = at_least(1u64),
        default_value_t = 60_000
    )]
    pub keep_alive_timeout_ms: u64,

    /// Open connections served at once; more get a 503 with `Retry-After` and are closed.
    #[arg(
        long = "max-connections",
        env = "ENDORSE_MAX_CONNECTIONS",
        value_name = "ENDORSE_MAX_CONNECTIONS",
        value_parser = at_least(1usize),
        default_value_t = 1024
    )]
    pub max_connections: usize,

    /// Largest page a connection returns (`first` is clamped to it).
    #[arg(
        long = "max-page-size",
        env = "ENDORSE_MAX_PAGE_SIZE",
        value_name = "ENDORSE_MAX_PAGE_SIZE",
        value_parser = at_least(1usize),
        default_value_t = 100
    )]
    pub max_page_size: usize,
}
