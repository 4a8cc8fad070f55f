//! Demo data for the development server.

use crate::services::Services;

/// Idempotent: running it twice leaves the same data.
pub async fn demo(services: &Services) -> anyhow::Result<String> {
    services.store_unchecked().ping().await?;
    Ok("demo data: nothing to load yet".to_owned())
}
