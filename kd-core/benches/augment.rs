//! Benchmarks of the POS tagger and the §3.2 augmentation on SST-2 training sentences.
//!
//! `cargo bench -p kd-core --bench augment` runs the criterion benches. With `KD_AUGMENT_FULL=1`
//! it instead times the whole SST-2 pipeline once (load the tagger, tag all of train, build the
//! `n_iter = 20` transfer set) and prints the figures; `KD_NLTK_ALL_TAGS=path.json` (from
//! `tests/fixtures/nltk_tags/make_tags.py --all path.json`) also compares every tag with NLTK's.

use criterion::{BatchSize, Criterion};
use kd_core::augment::{augment_tokens, build_transfer_set, AugmentConfig, TagUnigrams};
use kd_core::data::{load_split, Example, Task};
use kd_core::pos::PosTagger;
use rand::SeedableRng;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    assert!(
        dir.is_dir(),
        "data folder not found at {} (run scripts/setup.sh)",
        dir.display()
    );
    dir
}

fn load() -> (PosTagger, Vec<Example>) {
    let data = data_dir();
    let tagger = PosTagger::load(&data.join("pos/averaged_perceptron_tagger_eng"))
        .expect("loading the tagger");
    let train =
        load_split(Task::Sst2, &data.join("glue/SST-2/train.tsv")).expect("loading SST-2 train");
    (tagger, train)
}

fn tokens(ex: &Example) -> Vec<&str> {
    ex.text_a.split_whitespace().collect()
}

fn benches(c: &mut Criterion) {
    let (tagger, train) = load();
    let sample = &train[..2000];
    c.bench_function("tag 2000 SST-2 sentences", |b| {
        b.iter(|| {
            for ex in sample {
                black_box(tagger.tag(&tokens(ex)));
            }
        })
    });
    let tagged: Vec<(Vec<String>, Vec<usize>)> = sample
        .iter()
        .map(|ex| {
            let t = tokens(ex);
            let tags = tagger.tag(&t);
            (t.into_iter().map(str::to_string).collect(), tags)
        })
        .collect();
    let unigrams = TagUnigrams::build(&tagged, tagger.classes().len());
    let cfg = AugmentConfig::default();
    c.bench_function("augment 2000 SST-2 sentences once", |b| {
        b.iter_batched(
            || rand_chacha::ChaCha8Rng::seed_from_u64(0),
            |mut rng| {
                for (toks, tags) in &tagged {
                    black_box(augment_tokens(toks, tags, &unigrams, &cfg, &mut rng));
                }
            },
            BatchSize::SmallInput,
        )
    });
    let mut group = c.benchmark_group("transfer set");
    group.sample_size(10);
    group.bench_function("build, 2000 SST-2 sentences, n_iter 20", |b| {
        b.iter(|| black_box(build_transfer_set(sample, &tagger, &cfg, None).unwrap()))
    });
    group.finish();
}

/// One timed pass over all of SST-2 train.
fn full_measurement() {
    let data = data_dir();
    let t0 = Instant::now();
    let tagger = PosTagger::load(&data.join("pos/averaged_perceptron_tagger_eng")).unwrap();
    let load_s = t0.elapsed().as_secs_f64();
    let train = load_split(Task::Sst2, &data.join("glue/SST-2/train.tsv")).unwrap();
    let t1 = Instant::now();
    let all_tags: Vec<Vec<usize>> = train.iter().map(|ex| tagger.tag(&tokens(ex))).collect();
    let tag_s = t1.elapsed().as_secs_f64();
    let num_tokens: usize = all_tags.iter().map(Vec::len).sum();
    println!(
        "tagger: {} features, load {load_s:.2} s; tagged {} sentences / {num_tokens} tokens in {tag_s:.2} s (1 thread)",
        tagger.num_features(),
        train.len()
    );
    if let Some(path) = std::env::var_os("KD_NLTK_ALL_TAGS") {
        let nltk: Vec<Vec<String>> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(nltk.len(), train.len());
        let mut differ = 0;
        for (ours, theirs) in all_tags.iter().zip(&nltk) {
            let ours: Vec<&str> = ours.iter().map(|&t| tagger.classes()[t].as_str()).collect();
            differ += ours.iter().zip(theirs).filter(|(a, b)| *a != b).count()
                + ours.len().abs_diff(theirs.len());
        }
        println!("nltk comparison: {differ} of {num_tokens} tokens differ");
    }
    let cfg = AugmentConfig::for_task(Task::Sst2);
    let t2 = Instant::now();
    let set = build_transfer_set(&train, &tagger, &cfg, None).unwrap();
    let build_s = t2.elapsed().as_secs_f64();
    println!(
        "transfer set (n_iter {}, {} rayon threads): {build_s:.2} s; {} rows = {} originals + {} kept \
         ({} generated, {} duplicates and {} copies dropped)",
        cfg.n_iter,
        rayon::current_num_threads(),
        set.examples.len(),
        set.stats.originals,
        set.stats.kept(),
        set.stats.generated,
        set.stats.dropped_duplicates,
        set.stats.dropped_copies
    );
    let out = std::env::temp_dir().join("kd_sst2_transfer.tsv");
    let t3 = Instant::now();
    kd_core::augment::write_transfer_set(&out, &set.examples, None).unwrap();
    println!(
        "wrote {} in {:.2} s",
        out.display(),
        t3.elapsed().as_secs_f64()
    );
}

fn main() {
    if std::env::var_os("KD_AUGMENT_FULL").is_some() {
        full_measurement();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
