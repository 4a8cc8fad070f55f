//! Evidence files and what reports publish.

use clap::Args;

use super::parse::{at_least, at_least_or, between, upload_type};

/// A week: the longest lifetime S3 allows a presigned URL.
const WEEK_SECONDS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Args)]
pub struct EvidenceConfig {
    /// Largest evidence file, in bytes (both upload flows).
    #[arg(
        long = "max-upload-bytes",
        env = "ENDORSE_MAX_UPLOAD_BYTES",
        value_name = "ENDORSE_MAX_UPLOAD_BYTES",
        value_parser = at_least(1u64),
        default_value_t = 50 * 1024 * 1024
    )]
    pub max_upload_bytes: u64,

    /// File types accepted as evidence (sniffed from the bytes), comma-separated MIME types.
    #[arg(
        long = "allowed-upload-types",
        env = "ENDORSE_ALLOWED_UPLOAD_TYPES",
        value_name = "ENDORSE_ALLOWED_UPLOAD_TYPES",
        value_delimiter = ',',
        value_parser = upload_type,
        default_value = "application/pdf,image/jpeg,image/png,image/webp,image/heic"
    )]
    pub allowed_types: Vec<String>,

    /// Lifetime of a presigned upload URL (and of a PENDING_UPLOAD record), in seconds.
    #[arg(
        long = "upload-url-ttl-seconds",
        env = "ENDORSE_UPLOAD_URL_TTL_SECONDS",
        value_name = "ENDORSE_UPLOAD_URL_TTL_SECONDS",
        value_parser = between(60, WEEK_SECONDS),
        default_value_t = 900
    )]
    pub upload_url_ttl_seconds: u64,

    /// Longest lifetime a client may ask for a download URL, in seconds.
    #[arg(
        long = "max-download-url-ttl-seconds",
        env = "ENDORSE_MAX_DOWNLOAD_URL_TTL_SECONDS",
        value_name = "ENDORSE_MAX_DOWNLOAD_URL_TTL_SECONDS",
        value_parser = between(1, WEEK_SECONDS),
        default_value_t = 3600
    )]
    pub max_download_url_ttl_seconds: u64,

    /// Image previews made at the same time (each decodes in a blocking thread).
    #[arg(
        long = "image-concurrency",
        env = "ENDORSE_IMAGE_CONCURRENCY",
        value_name = "ENDORSE_IMAGE_CONCURRENCY",
        value_parser = at_least(1usize),
        default_value_t = 2
    )]
    pub image_concurrency: usize,

    /// Run the evidence sweeper every this many seconds inside `serve` (0: only `endorse sweep`).
    #[arg(
        long = "sweep-interval-seconds",
        env = "ENDORSE_SWEEP_INTERVAL_SECONDS",
        value_name = "ENDORSE_SWEEP_INTERVAL_SECONDS",
        default_value_t = 0
    )]
    pub sweep_interval_seconds: u64,

    /// Objects and multipart uploads younger than this many seconds, and verifications claimed more recently, are left alone by the sweeper (uploads in flight are younger).
    #[arg(
        long = "sweep-grace-seconds",
        env = "ENDORSE_SWEEP_GRACE_SECONDS",
        value_name = "ENDORSE_SWEEP_GRACE_SECONDS",
        default_value_t = 3600
    )]
    pub sweep_grace_seconds: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ReportsConfig {
    /// Smallest count `stats` publishes: smaller non-zero counts are suppressed (1 turns suppression off).
    #[arg(
        long = "stats-min-cell",
        env = "ENDORSE_STATS_MIN_CELL",
        value_name = "ENDORSE_STATS_MIN_CELL",
        value_parser = at_least_or(1u64, "1 turns suppression off"),
        default_value_t = 5
    )]
    pub stats_min_cell: u64,
}
