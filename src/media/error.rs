use thiserror::Error;

/// Why no preview could be made. Every variant leaves the original upload usable: the caller
/// stores it either way and only decides whether to show previews and what to tell the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MediaError {
    /// The header declares more pixels than [`super::ImageLimits`] allows; nothing was decoded.
    #[error("image is {width}x{height} pixels, larger than allowed")]
    TooLarge { width: u32, height: u32 },
    /// Decoding would need more memory than allowed (the decoder's own accounting said so).
    #[error("image needs more memory to decode than allowed")]
    LimitExceeded,
    /// The bytes are not a valid image of the sniffed type (truncated, corrupt, hostile).
    #[error("image could not be decoded: {0}")]
    Malformed(String),
    /// The type is accepted as evidence but no preview is made for it (PDF, HEIC).
    #[error("no preview is made for this file type")]
    NoPreview,
    /// The decoder does not support this variant of the format (e.g. an unusual colour type).
    #[error("image format variant is not supported")]
    Unsupported,
}

impl From<image::ImageError> for MediaError {
    fn from(error: image::ImageError) -> Self {
        use image::ImageError;
        match error {
            ImageError::Limits(_) => MediaError::LimitExceeded,
            ImageError::Unsupported(_) => MediaError::Unsupported,
            other => MediaError::Malformed(short_message(&other)),
        }
    }
}

/// Decoder messages can embed attacker-chosen numbers and run long; the caller logs this and may
/// show it, so keep it to one short line.
fn short_message(error: &image::ImageError) -> String {
    const MAX_CHARS: usize = 160;
    let message = error.to_string();
    let first_line = message.lines().next().unwrap_or_default();
    first_line.chars().take(MAX_CHARS).collect()
}
