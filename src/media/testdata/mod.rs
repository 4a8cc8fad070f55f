//! Small generated files for tests and benchmarks, including hostile ones.
//!
//! Not behind `cfg(test)`: the crate's integration tests and benchmarks use these too. Nothing
//! here needs a dependency beyond `image`, which the crate has anyway.
//!
//! The generators panic on arguments no test would pass (a zero width); they are never used on
//! uploads.

mod exif;
mod png_bomb;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, Rgb, RgbImage};

pub use exif::{GPS_LATITUDE_RATIONALS, exif_segment};
pub use png_bomb::{png_black, png_bomb};

/// The test pattern as stored: red grows left to right, green grows top to bottom, blue is
/// constant. So each corner has its own colour and any rotation or mirroring shows:
/// top-left black, top-right red, bottom-left green, bottom-right yellow.
pub fn pattern(width: u32, height: u32) -> RgbImage {
    let ramp =
        |position: u32, extent: u32| u8::try_from(position * 255 / extent.saturating_sub(1).max(1)).unwrap_or(255);
    RgbImage::from_fn(width, height, |x, y| Rgb([ramp(x, width), ramp(y, height), 64]))
}

/// A real JPEG of [`pattern`], without EXIF.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut encoded = Vec::new();
    JpegEncoder::new_with_quality(&mut encoded, 90)
        .encode_image(&pattern(width, height))
        .expect("test JPEG dimensions are between 1 and 65535");
    encoded
}

/// A JPEG of [`pattern`] with per-pixel noise, so it compresses like a phone photo (2.6 MB at
/// 12 megapixels) rather than like a smooth gradient; entropy decoding dominates
/// decode time, so benchmarks need this.
pub fn photo_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut noisy = pattern(width, height);
    // xorshift32: deterministic, no dependency.
    let mut state: u32 = 0x9E37_79B9;
    for channel in noisy.iter_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state >> 24) as u8 / 16; // 0..=15, like sensor noise in a lit room
        *channel = channel.saturating_add(noise).saturating_sub(8);
    }
    let mut encoded = Vec::new();
    JpegEncoder::new_with_quality(&mut encoded, 90)
        .encode_image(&noisy)
        .expect("test JPEG dimensions are between 1 and 65535");
    encoded
}

/// [`jpeg`] with an EXIF block right after SOI, as a phone writes it: an Orientation tag
/// (1 = upright, 6 = stored rotated, display turned 90° clockwise) and, if `gps`, a GPS position.
pub fn jpeg_with_exif(width: u32, height: u32, orientation: u16, gps: bool) -> Vec<u8> {
    let plain = jpeg(width, height);
    let (start_of_image, rest) = plain.split_at(2);
    [start_of_image, &exif_segment(orientation, gps), rest].concat()
}

/// A JPEG of about 200 bytes whose frame header declares `width` x `height` of grey. The header
/// is complete (quantisation table, frame, Huffman tables, scan header); the scan data covers
/// only the first 64 blocks (a 64 x 64 claim is a valid image), so for a large claim everything
/// rests on the size check: a decoder would first allocate the whole declared image.
pub fn jpeg_header_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, payload: &[u8]| {
        let length = u16::try_from(payload.len() + 2).expect("segments here are short");
        jpeg.extend_from_slice(&[0xFF, marker]);
        jpeg.extend_from_slice(&length.to_be_bytes());
        jpeg.extend_from_slice(payload);
    };
    // Quantisation table 0, 8-bit, all ones.
    segment(0xDB, &[[0x00].as_slice(), &[1; 64]].concat());
    // Baseline frame: 8-bit samples, one component (grey) using table 0, no subsampling.
    let [height_high, height_low] = height.to_be_bytes();
    let [width_high, width_low] = width.to_be_bytes();
    segment(0xC0, &[8, height_high, height_low, width_high, width_low, 1, 1, 0x11, 0]);
    // One-symbol DC and AC Huffman tables: a single code of length 1.
    let one_code_of_length_one = [[1].as_slice(), &[0; 15]].concat();
    segment(0xC4, &[[0x00].as_slice(), &one_code_of_length_one, &[0x00]].concat());
    segment(0xC4, &[[0x10].as_slice(), &one_code_of_length_one, &[0x00]].concat());
    // Scan header for the one component, full spectral range.
    segment(0xDA, &[1, 1, 0x00, 0, 63, 0]);
    jpeg.extend_from_slice(&[0x00; 16]);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

/// A lossless WebP of [`pattern`].
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut encoded = Vec::new();
    WebPEncoder::new_lossless(&mut encoded)
        .encode(pattern(width, height).as_raw(), width, height, ExtendedColorType::Rgb8)
        .expect("test WebP dimensions are between 1 and 16384");
    encoded
}

/// A minimal one-page PDF with a correct cross-reference table.
pub fn pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ];
    // The binary comment line tells transfer tools the file is not text, as real PDFs do.
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref_offset = pdf.len();
    let mut trailer = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        trailer.push_str(&format!("{offset:010} 00000 n \n"));
    }
    trailer.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_offset}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(trailer.as_bytes());
    pdf
}

/// An HTML page with a script, as someone would upload it renamed to `transcript.pdf`.
pub fn html_as_pdf() -> Vec<u8> {
    b"<!DOCTYPE html>\n<html><head><title>transcript.pdf</title></head>\
      <body><script>fetch('/graphql')</script></body></html>\n"
        .to_vec()
}

/// The start of an iPhone HEIC: an `ftyp` box with major brand `heic`, then an empty `mdat`.
pub fn heic_header() -> Vec<u8> {
    let mut heic = Vec::new();
    heic.extend_from_slice(&24_u32.to_be_bytes());
    heic.extend_from_slice(b"ftypheic");
    heic.extend_from_slice(&0_u32.to_be_bytes());
    heic.extend_from_slice(b"mif1heic");
    heic.extend_from_slice(&8_u32.to_be_bytes());
    heic.extend_from_slice(b"mdat");
    heic
}
