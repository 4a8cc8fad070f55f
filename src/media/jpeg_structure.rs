//! A structural check that `image`'s JPEG decoder does not make.
//!
//! `image` runs zune-jpeg in lenient mode, which decodes a JPEG cut off mid-scan without error and
//! fills the missing part with grey. An upload interrupted half way would get a half-grey preview
//! that looks like the applicant's document is damaged, so truncation is caught here instead.

const MARKER_START: u8 = 0xFF;
const START_OF_IMAGE: u8 = 0xD8;
const END_OF_IMAGE: u8 = 0xD9;
const START_OF_SCAN: u8 = 0xDA;

/// Whether the JPEG's scan data is followed by an end-of-image marker.
///
/// The header segments are walked by their lengths rather than searched, because an EXIF block
/// may hold a whole thumbnail JPEG with its own markers. Inside scan data a 0xFF byte is always
/// followed by 0x00 or a restart marker, so the first 0xFF 0xD9 after the first scan header is
/// the real end. Bytes after it (some phones append a video there) are allowed.
pub(super) fn ends_with_end_of_image(jpeg: &[u8]) -> bool {
    if jpeg.get(..2) != Some(&[MARKER_START, START_OF_IMAGE]) {
        return false;
    }
    let mut position = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while jpeg.get(position) == Some(&MARKER_START) && jpeg.get(position + 1) == Some(&MARKER_START) {
            position += 1;
        }
        let (Some(&MARKER_START), Some(&marker)) = (jpeg.get(position), jpeg.get(position + 1)) else {
            return false;
        };
        let Some(length) =
            jpeg.get(position + 2..position + 4).map(|bytes| usize::from(bytes[0]) << 8 | usize::from(bytes[1]))
        else {
            return false;
        };
        match marker {
            END_OF_IMAGE => return false, // an image without any scan
            START_OF_SCAN => {
                let scan = jpeg.get(position + 2 + length..).unwrap_or_default();
                return scan.windows(2).any(|pair| pair == [MARKER_START, END_OF_IMAGE]);
            }
            _ => position += 2 + length,
        }
    }
}
