//! Preview and thumbnail of a 12-megapixel phone photo, and what each resize filter costs.
//!
//! Run with `cargo bench --bench previews`. Criterion reports time per iteration, i.e. per image.
//! The photo is a gradient with per-pixel noise, so it decodes like a real phone photo (2.6 MB); a
//! smooth gradient would make decoding look several times cheaper than it is.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use endorse::media::{FileType, ImageLimits, derive_previews, testdata};
use image::imageops::FilterType;

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;

fn previews(criterion: &mut Criterion) {
    let photo = testdata::photo_jpeg(WIDTH, HEIGHT);
    let limits = ImageLimits::default();
    let mut group = criterion.benchmark_group("previews");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("12mp_jpeg_preview_and_thumbnail", |bench| {
        bench.iter(|| derive_previews(black_box(&photo), FileType::Jpeg, &limits).expect("valid photo"))
    });
    group.finish();
}

/// The stages on their own, and the resize strategies that were considered for 4000x3000 ->
/// 1600x1200, so the choice in `media::resize` can be re-checked.
fn stages(criterion: &mut Criterion) {
    let photo = testdata::photo_jpeg(WIDTH, HEIGHT);
    let decoded = image::load_from_memory(&photo).expect("valid photo");
    let (preview_width, preview_height) = (1600, 1200);
    let mut group = criterion.benchmark_group("stages");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("decode_12mp", |bench| bench.iter(|| image::load_from_memory(black_box(&photo))));
    for filter in [FilterType::Nearest, FilterType::Triangle, FilterType::CatmullRom, FilterType::Lanczos3] {
        group.bench_function(format!("resize_{filter:?}"), |bench| {
            bench.iter(|| black_box(&decoded).resize_exact(preview_width, preview_height, filter))
        });
    }
    group.bench_function("resize_box_thumbnail", |bench| {
        bench.iter(|| black_box(&decoded).thumbnail_exact(preview_width, preview_height))
    });
    let preview = decoded.resize_exact(preview_width, preview_height, FilterType::Triangle);
    group.bench_function("thumbnail_from_preview_Triangle", |bench| {
        bench.iter(|| black_box(&preview).resize_exact(256, 192, FilterType::Triangle))
    });
    group.bench_function("encode_preview_q82", |bench| {
        bench.iter(|| {
            let mut encoded = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 82)
                .encode_image(black_box(&preview.to_rgb8()))
                .expect("encodes");
            encoded
        })
    });
    group.finish();
}

criterion_group!(benches, previews, stages);
criterion_main!(benches);
