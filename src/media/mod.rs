//! Evidence files: what they really are, and downsized previews of the images.
//!
//! Everything here is pure and synchronous. Decoding a 12-megapixel photo takes tens of
//! milliseconds of CPU, so callers run [`derive_previews`] in `spawn_blocking` behind a semaphore.
//!
//! - [`sniff`] decides the type from the first bytes only; names and client MIME types are never
//!   trusted.
//! - [`derive_previews`] checks the declared dimensions against [`ImageLimits`] before any pixel is
//!   decoded, then produces an upright preview and thumbnail as metadata-free JPEGs.
//! - [`testdata`] builds small files (and hostile ones) for tests and benchmarks.

mod error;
mod jpeg_structure;
mod limits;
mod previews;
mod resize;
mod sniff;
pub mod testdata;

#[cfg(test)]
mod tests;

pub use error::MediaError;
pub use limits::ImageLimits;
pub use previews::{PREVIEW_CONTENT_TYPE, Previews, derive_previews};
pub use sniff::{FileType, SNIFF_LEN, sniff};
