//! Evaluations per second for a realistic portfolio (5 degrees, 60 trainings,
//! 8 jobs, 60 RS/C sessions, 4 references): every category of a track, as the
//! `recommendations` field does. Target: >= 100,000 evaluations/s on one core.
//! Criterion reports the rate as "thrpt" in elements (= evaluations) per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use endorse::domain::model::{Basis, Category, Track};
use endorse::domain::rulebook::Rulebook;
use endorse::domain::sample::{realistic_as_of, realistic_portfolio};
use endorse::domain::{evaluate, recommend};

fn bench(c: &mut Criterion) {
    let rulebook = Rulebook::nys_aimh();
    let portfolio = realistic_portfolio();
    let as_of = realistic_as_of();
    let categories = rulebook.version_at(as_of).map_or(0, |v| v.categories.len()) as u64;
    let mut group = c.benchmark_group("evaluate");
    for basis in [Basis::Claimed, Basis::Verified] {
        group.throughput(Throughput::Elements(categories));
        group.bench_function(format!("recommend_infant_{basis}"), |b| {
            b.iter(|| recommend(black_box(&portfolio), Track::Infant, as_of, basis, &rulebook).unwrap())
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("evaluate_imhm_c_claimed", |b| {
        b.iter(|| {
            evaluate(black_box(&portfolio), Category::MentorClinical, Track::Infant, as_of, Basis::Claimed, &rulebook)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
