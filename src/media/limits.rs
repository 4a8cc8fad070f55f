/// Bounds on what [`super::derive_previews`] will decode, and the sizes it produces.
///
/// The dimension and pixel bounds are checked against the header before any pixel is decoded;
/// `max_alloc` is also handed to the decoder, which enforces it for its own buffers.
///
/// Peak memory of one [`super::derive_previews`] call is about the decoded image (3 bytes per
/// pixel, 4 with alpha) plus the resizer's float buffer of 16 x width x `preview_edge` bytes: some
/// 400 MB at the default 64 megapixels, about 115 MB for a 12-megapixel photo. Size the
/// caller's semaphore with that in mind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Width times height. Phone cameras reach about 50 megapixels; scans of A4 at 600 dpi are 35.
    pub max_pixels: u64,
    /// Bytes the decoder may allocate for the decoded image.
    pub max_alloc: u64,
    /// Longest edge of the preview, in pixels. Smaller images are never enlarged.
    pub preview_edge: u32,
    /// Longest edge of the thumbnail, in pixels.
    pub thumbnail_edge: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_width: 12_000,
            max_height: 12_000,
            max_pixels: 64_000_000,
            max_alloc: 512 * 1024 * 1024,
            preview_edge: 1600,
            thumbnail_edge: 256,
        }
    }
}

impl ImageLimits {
    /// The same bounds in the form the `image` crate's decoders enforce themselves.
    pub(super) fn decoder_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }

    /// Only the allocation bound, for reading the header before the dimensions are judged.
    pub(super) fn allocation_limits(&self) -> image::Limits {
        let mut limits = image::Limits::no_limits();
        limits.max_alloc = Some(self.max_alloc);
        limits
    }

    pub(super) fn admits_dimensions(&self, width: u32, height: u32) -> bool {
        width <= self.max_width && height <= self.max_height && u64::from(width) * u64::from(height) <= self.max_pixels
    }
}
