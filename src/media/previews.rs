use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, metadata::Orientation};

use super::jpeg_structure::ends_with_end_of_image;
use super::resize::shrink_to_fit;
use super::{FileType, ImageLimits, MediaError};

/// The content type of both [`Previews`] images.
pub const PREVIEW_CONTENT_TYPE: &str = "image/jpeg";

/// JPEG quality of previews: artefacts are invisible at screen size and files stay small.
const JPEG_QUALITY: u8 = 82;

/// Upright, metadata-free JPEG renditions of an uploaded image.
#[derive(Clone, PartialEq, Eq)]
pub struct Previews {
    /// Fits in `preview_edge` x `preview_edge`.
    pub preview: Vec<u8>,
    /// Fits in `thumbnail_edge` x `thumbnail_edge`.
    pub thumbnail: Vec<u8>,
    /// Width of the original as displayed, i.e. after its EXIF orientation is applied.
    pub width: u32,
    /// Height of the original as displayed.
    pub height: u32,
    /// Always [`PREVIEW_CONTENT_TYPE`].
    pub content_type: &'static str,
}

impl std::fmt::Debug for Previews {
    // The derived Debug would print every byte of both JPEGs.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Previews")
            .field("preview_bytes", &self.preview.len())
            .field("thumbnail_bytes", &self.thumbnail.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// Makes a preview and a thumbnail of a JPEG, PNG or WebP whose type [`super::sniff`] decided.
///
/// The dimensions in the header are checked against `limits` before any pixel is decoded, so a
/// small file declaring a huge image costs nothing. The output carries no EXIF (so no GPS
/// position from a phone photo) and is rotated as the EXIF orientation says.
pub fn derive_previews(bytes: &[u8], file_type: FileType, limits: &ImageLimits) -> Result<Previews, MediaError> {
    let format = match file_type {
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Png => ImageFormat::Png,
        FileType::Webp => ImageFormat::WebP,
        FileType::Pdf | FileType::Heic => return Err(MediaError::NoPreview),
    };
    let (decoded, orientation) = decode_within_limits(bytes, format, limits)?;
    let (width, height) = oriented_dimensions(decoded.width(), decoded.height(), orientation);
    let decoded = flatten_onto_white(decoded);

    // Scale first and rotate the small result: the same picture as rotating first, without a
    // second full-size buffer. The bounds are square, so the order does not change the size.
    let mut preview = shrink_to_fit(&decoded, limits.preview_edge).unwrap_or(decoded);
    preview.apply_orientation(orientation);
    // The thumbnail comes from the preview: a fraction of the work of scaling the original again.
    let thumbnail = shrink_to_fit(&preview, limits.thumbnail_edge);

    Ok(Previews {
        thumbnail: encode_jpeg(thumbnail.as_ref().unwrap_or(&preview))?,
        preview: encode_jpeg(&preview)?,
        width,
        height,
        content_type: PREVIEW_CONTENT_TYPE,
    })
}

/// Decodes `bytes`, refusing before the pixel data is touched if the declared size breaks `limits`.
fn decode_within_limits(
    bytes: &[u8],
    format: ImageFormat,
    limits: &ImageLimits,
) -> Result<(DynamicImage, Orientation), MediaError> {
    // The format comes from our own sniffing rather than `with_guessed_format`, so bytes that are
    // not what was sniffed fail to decode instead of being decoded as something else.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Width and height limits would make the decoder fail with a bare "limits" error; leave them
    // out until the dimensions have been read, so the refusal can say how large the image is.
    reader.limits(limits.allocation_limits());
    // Constructing a decoder parses the header only; no pixel data is read yet.
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if !limits.admits_dimensions(width, height) {
        return Err(MediaError::TooLarge { width, height });
    }
    if format == ImageFormat::Jpeg && !ends_with_end_of_image(bytes) {
        return Err(MediaError::Malformed("JPEG data ends before its end-of-image marker".to_owned()));
    }
    decoder.set_limits(limits.decoder_limits())?;
    // `ImageReader::decode` reserves the output buffer against `max_alloc`, but it cannot report
    // the orientation, and `into_decoder` + `from_decoder` skips that reservation: check it here.
    if decoder.total_bytes() > limits.max_alloc {
        return Err(MediaError::LimitExceeded);
    }
    // A broken EXIF block should not cost the applicant the preview: show the image as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder)?;
    Ok((decoded, orientation))
}

fn oriented_dimensions(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH => {
            (height, width)
        }
        Orientation::NoTransforms
        | Orientation::Rotate180
        | Orientation::FlipHorizontal
        | Orientation::FlipVertical => (width, height),
    }
}

/// The image with any transparency shown over white, as a browser shows it on a white page.
/// JPEG has no alpha, and dropping it would show transparent areas as whatever colour they hide
/// (often black). Done before scaling, because scaling mixes in the colour of transparent pixels.
fn flatten_onto_white(image: DynamicImage) -> DynamicImage {
    if !image.color().has_alpha() {
        return image;
    }
    // In place, so a large RGBA image does not need a second full-size buffer.
    let mut rgba = image.into_rgba8();
    for pixel in rgba.pixels_mut() {
        let [red, green, blue, alpha] = pixel.0;
        let over_white = |channel: u8| {
            let alpha = u16::from(alpha);
            let blended = (u16::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            u8::try_from(blended).unwrap_or(u8::MAX)
        };
        pixel.0 = [over_white(red), over_white(green), over_white(blue), u8::MAX];
    }
    DynamicImage::ImageRgba8(rgba)
}

/// Baseline JPEG with no APP segments besides JFIF: `image`'s encoder writes EXIF or ICC only
/// when asked to, so nothing from the upload (GPS position, camera serial) is carried over.
fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut encoded = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut encoded, JPEG_QUALITY);
    match image {
        DynamicImage::ImageRgb8(rgb) => encoder.encode_image(rgb)?,
        DynamicImage::ImageLuma8(gray) => encoder.encode_image(gray)?,
        other => encoder.encode_image(&other.to_rgb8())?,
    }
    Ok(encoded)
}
