use std::time::{Duration, Instant};

use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage, RgbaImage};

use super::testdata;
use super::{FileType, ImageLimits, MediaError, PREVIEW_CONTENT_TYPE, Previews, derive_previews, sniff};

fn decode(jpeg: &[u8]) -> DynamicImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).expect("previews are valid JPEGs")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The marker and payload of every segment before the scan data.
fn header_segments(jpeg: &[u8]) -> Vec<(u8, &[u8])> {
    let mut segments = Vec::new();
    let mut position = 2; // after SOI
    while let [0xFF, marker, length_high, length_low, ..] = jpeg[position..] {
        let end = position + 2 + usize::from(u16::from_be_bytes([length_high, length_low]));
        segments.push((marker, &jpeg[position + 4..end]));
        if marker == 0xDA {
            break;
        }
        position = end;
    }
    segments
}

fn previews_of(bytes: &[u8], file_type: FileType) -> Previews {
    derive_previews(bytes, file_type, &ImageLimits::default()).expect("a valid test image")
}

fn assert_close(actual: Rgb<u8>, expected: [u8; 3], what: &str) {
    let close = actual.0.iter().zip(expected).all(|(&got, want)| got.abs_diff(want) <= 40);
    assert!(close, "{what}: expected about {expected:?}, got {:?}", actual.0);
}

#[test]
fn sniffs_each_accepted_type_from_content() {
    assert_eq!(sniff(&testdata::pdf()), Some(FileType::Pdf));
    assert_eq!(sniff(&testdata::jpeg(8, 8)), Some(FileType::Jpeg));
    assert_eq!(sniff(&testdata::jpeg_with_exif(8, 8, 6, true)), Some(FileType::Jpeg));
    assert_eq!(sniff(&testdata::png_black(8, 8)), Some(FileType::Png));
    assert_eq!(sniff(&testdata::webp(8, 8)), Some(FileType::Webp));
    assert_eq!(sniff(&testdata::heic_header()), Some(FileType::Heic));
}

#[test]
fn sniffs_from_the_head_alone() {
    let pdf = testdata::pdf();
    assert_eq!(sniff(&pdf[..super::SNIFF_LEN.min(pdf.len())]), Some(FileType::Pdf));
    let jpeg = testdata::jpeg(64, 64);
    assert_eq!(sniff(&jpeg[..super::SNIFF_LEN]), Some(FileType::Jpeg));
}

#[test]
fn html_renamed_to_pdf_is_refused() {
    assert_eq!(sniff(&testdata::html_as_pdf()), None);
    assert_eq!(sniff(b"  <html><body>not a transcript</body></html>"), None);
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"plain text, no magic"), None);
}

#[test]
fn heif_brands_beyond_what_infer_knows_are_heic() {
    let heif_with_brand = |major: &[u8; 4], compatible: &[u8; 4]| {
        [&24_u32.to_be_bytes(), b"ftyp".as_slice(), major, &[0; 4], b"mif1", compatible].concat()
    };
    assert_eq!(sniff(&heif_with_brand(b"mif1", b"heic")), Some(FileType::Heic));
    assert_eq!(sniff(&heif_with_brand(b"heix", b"mif1")), Some(FileType::Heic));
    assert_eq!(sniff(&heif_with_brand(b"msf1", b"hevc")), Some(FileType::Heic));
    assert_eq!(sniff(&heif_with_brand(b"mif1", b"heim")), Some(FileType::Heic));
    assert_ne!(sniff(&heif_with_brand(b"avif", b"mif1")), Some(FileType::Heic));
    // A video in the same container is not a photo.
    assert_eq!(sniff(&heif_with_brand(b"isom", b"mp41")).filter(|kind| *kind == FileType::Heic), None);
}

#[test]
fn file_types_name_their_mime_and_extension() {
    assert_eq!((FileType::Pdf.mime(), FileType::Pdf.extension()), ("application/pdf", "pdf"));
    assert_eq!((FileType::Jpeg.mime(), FileType::Jpeg.extension()), ("image/jpeg", "jpg"));
    assert_eq!((FileType::Png.mime(), FileType::Png.extension()), ("image/png", "png"));
    assert_eq!((FileType::Webp.mime(), FileType::Webp.extension()), ("image/webp", "webp"));
    assert_eq!((FileType::Heic.mime(), FileType::Heic.extension()), ("image/heic", "heic"));
}

#[test]
fn huge_declared_dimensions_are_refused_before_decoding() {
    let claim = testdata::jpeg_header_claiming(60_000, 60_000);
    assert!(claim.len() < 1024, "the claim is {} bytes", claim.len());
    assert_eq!(sniff(&claim), Some(FileType::Jpeg));

    let started = Instant::now();
    let refused = derive_previews(&claim, FileType::Jpeg, &ImageLimits::default());
    // Only the header check can produce TooLarge; a decode attempt of the truncated scan would
    // fail as Malformed, and allocating 10.8 GB first would not take microseconds.
    assert_eq!(refused, Err(MediaError::TooLarge { width: 60_000, height: 60_000 }));
    assert!(started.elapsed() < Duration::from_millis(100), "took {:?}", started.elapsed());
}

#[test]
fn header_claim_is_a_well_formed_jpeg() {
    // Its 16 bytes of scan data are exactly enough for 64 blocks, so a 64 x 64 claim is a real
    // grey image: the refusal of the 60000 x 60000 claim above is not a parse failure in disguise.
    let previews = previews_of(&testdata::jpeg_header_claiming(64, 64), FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (64, 64));
}

#[test]
fn too_many_pixels_within_the_edge_limits_is_too_large() {
    let limits = ImageLimits { max_pixels: 10_000, ..ImageLimits::default() };
    let refused = derive_previews(&testdata::jpeg(200, 100), FileType::Jpeg, &limits);
    assert_eq!(refused, Err(MediaError::TooLarge { width: 200, height: 100 }));
}

#[test]
fn allocation_limit_is_enforced_even_when_dimensions_pass() {
    // 300 x 200 RGB needs 180 000 bytes.
    let limits = ImageLimits { max_alloc: 100_000, ..ImageLimits::default() };
    let refused = derive_previews(&testdata::jpeg(300, 200), FileType::Jpeg, &limits);
    assert_eq!(refused, Err(MediaError::LimitExceeded));
}

#[test]
fn png_bomb_is_refused_and_the_process_survives() {
    let bomb = testdata::png_bomb();
    assert!(bomb.len() < 1_000_000, "the bomb is {} bytes", bomb.len());
    assert_eq!(sniff(&bomb), Some(FileType::Png));

    let started = Instant::now();
    let refused = derive_previews(&bomb, FileType::Png, &ImageLimits::default());
    assert_eq!(refused, Err(MediaError::TooLarge { width: 20_000, height: 20_000 }));
    assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());

    // With the edge limits lifted, the allocation limit still stops it (400 MB > 64 MiB).
    let generous_edges = ImageLimits {
        max_width: 65_535,
        max_height: 65_535,
        max_pixels: u64::MAX,
        max_alloc: 64 * 1024 * 1024,
        ..ImageLimits::default()
    };
    assert_eq!(derive_previews(&bomb, FileType::Png, &generous_edges), Err(MediaError::LimitExceeded));
}

#[test]
fn png_black_is_a_valid_png() {
    let png = testdata::png_black(37, 5);
    let decoded = image::load_from_memory_with_format(&png, ImageFormat::Png).expect("valid PNG");
    assert_eq!(decoded.dimensions(), (37, 5));
    assert!(decoded.to_luma8().pixels().all(|pixel| pixel.0 == [0]));
}

#[test]
fn rotated_photo_gives_an_upright_preview() {
    // Stored 400 x 300; orientation 6 says "turn 90° clockwise to display", so upright it is
    // 300 wide and 400 high, and the stored bottom-left corner (green) is the displayed top-left.
    let photo = testdata::jpeg_with_exif(400, 300, 6, false);
    let previews = previews_of(&photo, FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (300, 400));

    let preview = decode(&previews.preview).to_rgb8();
    assert_eq!(preview.dimensions(), (300, 400));
    let (right, bottom) = (preview.width() - 1, preview.height() - 1);
    assert_close(*preview.get_pixel(0, 0), [0, 255, 64], "top-left (stored bottom-left)");
    assert_close(*preview.get_pixel(right, 0), [0, 0, 64], "top-right (stored top-left)");
    assert_close(*preview.get_pixel(0, bottom), [255, 255, 64], "bottom-left (stored bottom-right)");
    assert_close(*preview.get_pixel(right, bottom), [255, 0, 64], "bottom-right (stored top-right)");

    let thumbnail = decode(&previews.thumbnail).to_rgb8();
    assert_eq!(thumbnail.dimensions(), (192, 256));
    assert_close(*thumbnail.get_pixel(0, 0), [0, 255, 64], "thumbnail top-left");
}

#[test]
fn upright_photo_keeps_its_orientation() {
    let previews = previews_of(&testdata::jpeg_with_exif(400, 300, 1, true), FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (400, 300));
    let preview = decode(&previews.preview).to_rgb8();
    assert_eq!(preview.dimensions(), (400, 300));
    assert_close(*preview.get_pixel(0, 0), [0, 0, 64], "top-left");
    assert_close(*preview.get_pixel(399, 0), [255, 0, 64], "top-right");
}

#[test]
fn previews_carry_no_exif_and_no_gps() {
    let photo = testdata::jpeg_with_exif(640, 480, 6, true);
    // The input really does carry both, so the checks below are not vacuous.
    assert!(contains(&photo, b"Exif\0\0"));
    assert!(contains(&photo, &testdata::GPS_LATITUDE_RATIONALS));

    let previews = previews_of(&photo, FileType::Jpeg);
    for output in [&previews.preview, &previews.thumbnail] {
        assert!(!contains(output, b"Exif\0\0"));
        assert!(!contains(output, &testdata::GPS_LATITUDE_RATIONALS));
        let segments = header_segments(output);
        assert!(segments.iter().any(|(marker, _)| *marker == 0xDA), "the walk reached the scan");
        for (marker, payload) in segments {
            assert_ne!(marker, 0xE1, "no APP1 (EXIF or XMP) segment");
            assert!(!contains(payload, &0x8825_u16.to_be_bytes()), "no GPS IFD pointer in the header");
        }
    }
    assert_eq!(previews.content_type, PREVIEW_CONTENT_TYPE);
    assert_eq!(PREVIEW_CONTENT_TYPE, "image/jpeg");
}

#[test]
fn small_images_are_never_enlarged() {
    let previews = previews_of(&testdata::jpeg(120, 80), FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (120, 80));
    assert_eq!(decode(&previews.preview).dimensions(), (120, 80));
    assert_eq!(decode(&previews.thumbnail).dimensions(), (120, 80));
}

#[test]
fn large_images_fit_the_preview_and_thumbnail_edges() {
    let previews = previews_of(&testdata::jpeg(2400, 1000), FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (2400, 1000));
    assert_eq!(decode(&previews.preview).dimensions(), (1600, 667));
    assert_eq!(decode(&previews.thumbnail).dimensions(), (256, 107));

    let tall = previews_of(&testdata::jpeg(500, 3000), FileType::Jpeg);
    assert_eq!(decode(&tall.preview).dimensions(), (267, 1600));
    assert_eq!(decode(&tall.thumbnail).dimensions(), (43, 256));
}

#[test]
fn extreme_aspect_ratios_keep_at_least_one_pixel() {
    let previews = previews_of(&testdata::jpeg(4000, 2), FileType::Jpeg);
    assert_eq!(decode(&previews.preview).dimensions(), (1600, 1));
    assert_eq!(decode(&previews.thumbnail).dimensions(), (256, 1));
}

#[test]
fn png_and_webp_get_previews() {
    let png = previews_of(&testdata::png_black(2000, 100), FileType::Png);
    assert_eq!((png.width, png.height), (2000, 100));
    assert_eq!(decode(&png.preview).dimensions(), (1600, 80));

    let webp = previews_of(&testdata::webp(300, 200), FileType::Webp);
    assert_eq!((webp.width, webp.height), (300, 200));
    let preview = decode(&webp.preview).to_rgb8();
    assert_close(*preview.get_pixel(299, 0), [255, 0, 64], "webp top-right");
}

#[test]
fn transparency_is_shown_over_white() {
    let transparent_left_half =
        RgbaImage::from_fn(
            64,
            32,
            |x, _| if x < 32 { image::Rgba([0, 0, 0, 0]) } else { image::Rgba([0, 0, 255, 255]) },
        );
    let mut png = Vec::new();
    DynamicImage::ImageRgba8(transparent_left_half)
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .expect("encodes");
    let preview = decode(&previews_of(&png, FileType::Png).preview).to_rgb8();
    assert_close(*preview.get_pixel(4, 16), [255, 255, 255], "transparent area");
    assert_close(*preview.get_pixel(60, 16), [0, 0, 255], "opaque area");
}

#[test]
fn pdf_and_heic_get_no_preview() {
    let limits = ImageLimits::default();
    assert_eq!(derive_previews(&testdata::pdf(), FileType::Pdf, &limits), Err(MediaError::NoPreview));
    assert_eq!(derive_previews(&testdata::heic_header(), FileType::Heic, &limits), Err(MediaError::NoPreview));
}

#[test]
fn malformed_images_are_errors_not_panics() {
    let limits = ImageLimits::default();
    let jpeg = testdata::jpeg(300, 200);
    let is_malformed = |result: Result<Previews, MediaError>| matches!(result, Err(MediaError::Malformed(_)));

    let truncated = &jpeg[..jpeg.len() / 2];
    match derive_previews(truncated, FileType::Jpeg, &limits) {
        Err(MediaError::Malformed(message)) => assert!(message.len() <= 160, "short message: {message}"),
        other => panic!("truncated JPEG gave {other:?}"),
    }
    assert!(is_malformed(derive_previews(&jpeg[..20], FileType::Jpeg, &limits)));
    assert!(is_malformed(derive_previews(b"", FileType::Png, &limits)));
    let png = testdata::png_black(100, 100);
    assert!(is_malformed(derive_previews(&png[..png.len() - 20], FileType::Png, &limits)));
    let webp = testdata::webp(100, 100);
    assert!(is_malformed(derive_previews(&webp[..webp.len() / 2], FileType::Webp, &limits)));
    // Bytes that are not what the caller sniffed fail rather than decode as something else.
    assert!(is_malformed(derive_previews(&png, FileType::Jpeg, &limits)));
    assert!(is_malformed(derive_previews(&testdata::html_as_pdf(), FileType::Jpeg, &limits)));
}

#[test]
fn corrupt_exif_still_gives_a_preview() {
    // An APP1 that claims to be EXIF but holds garbage: orientation falls back to as stored.
    let mut photo = testdata::jpeg(100, 50);
    photo.splice(2..2, [0xFF, 0xE1, 0x00, 0x0C, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0xFF, 0xFF]);
    let previews = previews_of(&photo, FileType::Jpeg);
    assert_eq!((previews.width, previews.height), (100, 50));
}

#[test]
fn test_pattern_has_distinct_corners() {
    let pattern: RgbImage = testdata::pattern(10, 10);
    assert_eq!(pattern.get_pixel(0, 0).0, [0, 0, 64]);
    assert_eq!(pattern.get_pixel(9, 0).0, [255, 0, 64]);
    assert_eq!(pattern.get_pixel(0, 9).0, [0, 255, 64]);
    assert_eq!(pattern.get_pixel(9, 9).0, [255, 255, 64]);
}

#[test]
fn jpeg_end_check_walks_segments_and_allows_trailing_data() {
    use super::jpeg_structure::ends_with_end_of_image;
    let jpeg = testdata::jpeg_with_exif(64, 48, 6, true);
    assert!(ends_with_end_of_image(&jpeg));
    assert!(ends_with_end_of_image(&[jpeg.as_slice(), b"\0\0\0\x18ftypmp42 appended video"].concat()));
    assert!(!ends_with_end_of_image(&jpeg[..jpeg.len() - 2]));
    assert!(!ends_with_end_of_image(&jpeg[..30]));
    assert!(!ends_with_end_of_image(b""));
    assert!(!ends_with_end_of_image(&[0xFF, 0xD8, 0xFF, 0xD9]));
    // An EXIF block holding a complete thumbnail JPEG does not make a truncated photo complete.
    let thumbnail = testdata::jpeg(8, 8);
    let app1 =
        [[0xFF, 0xE1].as_slice(), &u16::try_from(thumbnail.len() + 2).unwrap().to_be_bytes(), &thumbnail].concat();
    let with_thumbnail = [&jpeg[..2], app1.as_slice(), &jpeg[2..jpeg.len() / 2]].concat();
    assert!(!ends_with_end_of_image(&with_thumbnail));
}
