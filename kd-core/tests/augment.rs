//! Transfer-set augmentation (§3.2): statistical checks with fixed seeds, de-duplication, pair
//! cycling, thread-count independence and the transfer-set file format.

use kd_core::augment::{
    augment_tokens, build_transfer_set, ngram::sample_ngram, read_transfer_set, write_transfer_set,
    AugMode, AugmentConfig, TagUnigrams, TransferExample, MASK_TOKEN,
};
use kd_core::data::Example;
use kd_core::pos::PosTagger;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// A tagger whose tag dictionary knows every test word: determiners, nouns, verbs, adjectives.
fn toy_tagger() -> PosTagger {
    let mut tagdict = HashMap::new();
    for (tag, ws) in [
        ("DT", "the a this"),
        ("NN", "film movie plot actor story cast"),
        ("VBZ", "is seems feels"),
        ("JJ", "good bad dull great long funny"),
        ("RB", "very quite not"),
    ] {
        for w in ws.split(' ') {
            tagdict.insert(w.to_string(), tag.to_string());
        }
    }
    let classes = ["DT", "NN", "VBZ", "JJ", "RB"].map(String::from).to_vec();
    PosTagger::from_parts(HashMap::new(), tagdict, classes)
}

fn toy_sentences() -> Vec<&'static str> {
    vec![
        "the film is very good",
        "a movie seems quite dull",
        "this plot feels long",
        "the actor is not funny",
        "the story is great",
        "a cast seems bad",
    ]
}

fn tagged(tagger: &PosTagger, sentences: &[&str]) -> Vec<(Vec<String>, Vec<usize>)> {
    sentences
        .iter()
        .map(|s| {
            let toks = words(s);
            let refs: Vec<&str> = toks.iter().map(String::as_str).collect();
            let tags = tagger.tag(&refs);
            (toks, tags)
        })
        .collect()
}

fn single(text: &str, label: usize) -> Example {
    Example {
        text_a: text.into(),
        text_b: None,
        label: Some(label),
        index: None,
    }
}

#[test]
fn mask_rate_is_p_mask() {
    let tagger = toy_tagger();
    let data = tagged(&tagger, &toy_sentences());
    let unigrams = TagUnigrams::build(&data, tagger.classes().len());
    let cfg = AugmentConfig {
        p_ng: 0.0,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut masked, mut total) = (0usize, 0usize);
    for _ in 0..4000 {
        for (toks, tags) in &data {
            let out = augment_tokens(toks, tags, &unigrams, &cfg, &mut rng);
            assert_eq!(
                out.len(),
                toks.len(),
                "without the n-gram step the length is kept"
            );
            masked += out.iter().filter(|w| *w == MASK_TOKEN).count();
            total += out.len();
        }
    }
    let rate = masked as f64 / total as f64;
    // ~110k words: the standard error of the rate is ~0.001.
    assert!((rate - 0.1).abs() < 0.005, "mask rate {rate}, expected 0.1");
}

#[test]
fn replacement_keeps_the_tag_and_follows_unigram_counts() {
    let tagger = toy_tagger();
    let data = tagged(&tagger, &toy_sentences());
    let unigrams = TagUnigrams::build(&data, tagger.classes().len());
    let cfg = AugmentConfig {
        p_mask: 0.0,
        p_pos: 1.0,
        p_ng: 0.0,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let dt = tagger.class_index("DT").unwrap();
    let (mut the, mut dets) = (0usize, 0usize);
    let mut changed = 0;
    for _ in 0..2000 {
        for (toks, tags) in &data {
            let out = augment_tokens(toks, tags, &unigrams, &cfg, &mut rng);
            for ((w, &tag), orig) in out.iter().zip(tags).zip(toks) {
                assert!(
                    unigrams.count(tag, w) > 0,
                    "{w:?} replaced {orig:?} but never carried its tag"
                );
                changed += usize::from(w != orig);
                if tag == dt {
                    dets += 1;
                    the += usize::from(w == "the");
                }
            }
        }
    }
    assert!(
        changed > 10_000,
        "replacement should change most words, changed {changed}"
    );
    // "the" is 3 of the 6 determiners in the toy training set.
    let freq = the as f64 / dets as f64;
    assert!(
        (freq - 0.5).abs() < 0.02,
        "P(the | DT) = {freq}, expected 0.5"
    );
}

#[test]
fn ngram_lengths_and_every_start_are_reachable() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut seen = HashSet::new();
    for _ in 0..20_000 {
        let r = sample_ngram(8, 5, &mut rng).unwrap();
        assert!((1..=5).contains(&r.len()) && r.end <= 8, "{r:?}");
        seen.insert((r.start, r.len()));
    }
    // Every (start, n) with n in 1..=5 and start in 0..=8-n: 8 + 7 + 6 + 5 + 4 = 30.
    assert_eq!(seen.len(), 30, "{seen:?}");
    assert!(
        seen.contains(&(7, 1)),
        "the last position must be a possible start"
    );
    // A 3-word sentence caps n at 3; n = 3 then has probability 3/5.
    let mut full = 0;
    for _ in 0..10_000 {
        let r = sample_ngram(3, 5, &mut rng).unwrap();
        assert!(r.end <= 3 && !r.is_empty());
        full += usize::from(r.len() == 3);
    }
    assert!(
        (full as f64 / 1e4 - 0.6).abs() < 0.02,
        "P(n = 3 | len 3) = {}",
        full as f64 / 1e4
    );
    assert_eq!(sample_ngram(0, 5, &mut rng), None);

    // Through augment_tokens with p_ng = 1: always a contiguous piece of the sentence.
    let tagger = toy_tagger();
    let data = tagged(&tagger, &["the film is very good", "a"]);
    let unigrams = TagUnigrams::build(&data, tagger.classes().len());
    let cfg = AugmentConfig {
        p_mask: 0.0,
        p_pos: 0.0,
        p_ng: 1.0,
        ..Default::default()
    };
    for (toks, tags) in &data {
        for _ in 0..500 {
            let out = augment_tokens(toks, tags, &unigrams, &cfg, &mut rng);
            assert!(!out.is_empty() && out.len() <= 5);
            assert!(
                toks.windows(out.len()).any(|w| w == out.as_slice()),
                "{out:?} is not an n-gram of {toks:?}"
            );
        }
    }
}

fn key(ex: &TransferExample) -> (String, Option<String>) {
    (ex.text_a.clone(), ex.text_b.clone())
}

#[test]
fn transfer_set_drops_duplicates_and_copies() {
    let tagger = toy_tagger();
    let examples: Vec<Example> = toy_sentences()
        .iter()
        .enumerate()
        .map(|(i, s)| single(s, i % 2))
        .collect();
    let cfg = AugmentConfig {
        n_iter: 60,
        seed: 5,
        ..Default::default()
    };
    let set = build_transfer_set(&examples, &tagger, &cfg, None).unwrap();
    let stats = set.stats;
    assert_eq!(stats.originals, examples.len());
    assert_eq!(stats.generated, examples.len() * 60);
    assert!(
        stats.dropped_copies > 0 && stats.dropped_duplicates > 0,
        "{stats:?}"
    );
    assert_eq!(set.examples.len(), stats.originals + stats.kept());

    // Originals first, in order, with their labels; copies unlabelled, numbered 1.. per example.
    for (i, (row, ex)) in set.examples.iter().zip(&examples).enumerate() {
        assert_eq!((row.orig_id, row.aug, row.mode), (i, 0, AugMode::Original));
        assert_eq!((&row.text_a, row.label), (&ex.text_a, ex.label));
    }
    let mut next_aug = vec![1u32; examples.len()];
    let mut last = (0, 0);
    let mut unique = HashSet::new();
    for row in &set.examples {
        assert!(unique.insert(key(row)), "duplicate row {row:?}");
        if row.aug == 0 {
            continue;
        }
        assert!(
            (row.orig_id, row.aug) > last,
            "rows out of order at {row:?}"
        );
        last = (row.orig_id, row.aug);
        assert_eq!(row.aug, next_aug[row.orig_id]);
        next_aug[row.orig_id] += 1;
        assert_eq!(
            (row.mode, row.label, &row.text_b),
            (AugMode::Single, None, &None)
        );
        assert_ne!(row.text_a, examples[row.orig_id].text_a);
    }
}

#[test]
fn pairs_cycle_through_first_second_and_both() {
    let tagger = toy_tagger();
    let examples: Vec<Example> = [
        ("the film is good", "a movie seems dull"),
        ("this plot feels very long", "the cast is bad"),
    ]
    .iter()
    .map(|(a, b)| Example {
        text_a: a.to_string(),
        text_b: Some(b.to_string()),
        label: Some(1),
        index: None,
    })
    .collect();
    // Every word masked, no n-grams: the i-th candidate is determined by its mode alone.
    let cfg = AugmentConfig {
        p_mask: 1.0,
        p_pos: 0.0,
        p_ng: 0.0,
        n_iter: 6,
        ..Default::default()
    };
    let set = build_transfer_set(&examples, &tagger, &cfg, None).unwrap();
    let masked = |s: &str| vec![MASK_TOKEN; s.split(' ').count()].join(" ");
    for (id, ex) in examples.iter().enumerate() {
        let rows: Vec<&TransferExample> = set
            .examples
            .iter()
            .filter(|r| r.orig_id == id && r.aug > 0)
            .collect();
        let modes: Vec<AugMode> = rows.iter().map(|r| r.mode).collect();
        // Iterations 3..6 repeat 0..3 exactly and are dropped as duplicates.
        assert_eq!(
            modes,
            [AugMode::FirstOnly, AugMode::SecondOnly, AugMode::Both]
        );
        let (a, b) = (&ex.text_a, ex.text_b.as_ref().unwrap());
        assert_eq!(
            (&rows[0].text_a, rows[0].text_b.as_ref().unwrap()),
            (&masked(a), b)
        );
        assert_eq!(
            (&rows[1].text_a, rows[1].text_b.as_ref().unwrap()),
            (a, &masked(b))
        );
        assert_eq!(
            (&rows[2].text_a, rows[2].text_b.as_ref().unwrap()),
            (&masked(a), &masked(b))
        );
    }
    assert_eq!(set.stats.dropped_duplicates, 6);
}

#[test]
fn same_set_with_one_and_two_threads_and_seed_matters() {
    let tagger = toy_tagger();
    let base = toy_sentences();
    // More than one parallel chunk (2048 examples), with some pairs.
    let examples: Vec<Example> = (0..2500)
        .map(|i| Example {
            text_a: format!("{} {}", base[i % 6], base[(i / 6) % 6]),
            text_b: i.is_multiple_of(5).then(|| base[(i + 1) % 6].to_string()),
            label: Some(i % 2),
            index: None,
        })
        .collect();
    let cfg = AugmentConfig {
        n_iter: 4,
        seed: 42,
        ..Default::default()
    };
    let run = |threads: usize, cfg: &AugmentConfig| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| build_transfer_set(&examples, &tagger, cfg, None).unwrap())
    };
    let one = run(1, &cfg);
    let two = run(2, &cfg);
    assert!(one.stats.kept() > 5000, "{:?}", one.stats);
    assert_eq!(one, two);
    let other = run(
        2,
        &AugmentConfig {
            seed: 43,
            ..cfg.clone()
        },
    );
    assert_ne!(one.examples, other.examples);

    let calls = std::cell::RefCell::new(Vec::new());
    let progress = |n: usize| calls.borrow_mut().push(n);
    build_transfer_set(&examples, &tagger, &cfg, Some(&progress)).unwrap();
    assert_eq!(*calls.borrow(), [2048, 2500]);
}

#[test]
fn invalid_config_is_rejected() {
    let cfg = AugmentConfig {
        p_mask: 0.7,
        p_pos: 0.7,
        ..Default::default()
    };
    let err = build_transfer_set(&[single("the film", 0)], &toy_tagger(), &cfg, None).unwrap_err();
    assert!(err.to_string().contains("p_mask + augment.p_pos"), "{err}");
}

fn sample_rows() -> Vec<TransferExample> {
    vec![
        TransferExample {
            orig_id: 0,
            aug: 0,
            mode: AugMode::Original,
            text_a: "a b".into(),
            text_b: Some("c".into()),
            label: Some(2),
        },
        TransferExample {
            orig_id: 0,
            aug: 1,
            mode: AugMode::SecondOnly,
            text_a: "a b".into(),
            text_b: Some("[MASK]".into()),
            label: None,
        },
        TransferExample {
            orig_id: 1,
            aug: 0,
            mode: AugMode::Original,
            text_a: "héllo".into(),
            text_b: None,
            label: None,
        },
        TransferExample {
            orig_id: 1,
            aug: 3,
            mode: AugMode::Single,
            text_a: "".into(),
            text_b: None,
            label: None,
        },
    ]
}

#[test]
fn transfer_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/transfer.tsv");
    let rows = sample_rows();
    write_transfer_set(&path, &rows, None).unwrap();
    assert_eq!(read_transfer_set(&path).unwrap(), (rows.clone(), None));

    let logits = [
        0.1f32,
        -2.5e-8,
        3.0,
        f32::MAX,
        -1.0 / 3.0,
        0.0,
        7.25,
        f32::MIN_POSITIVE,
        1e-3,
        -0.0,
        5.0,
        6.0,
    ];
    write_transfer_set(&path, &rows, Some((&logits, 3))).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("orig_id\taug\tmode\tlabel\ttext_a\ttext_b\tlogit_0\tlogit_1\tlogit_2\n"),
        "{text}"
    );
    let (back, back_logits) = read_transfer_set(&path).unwrap();
    assert_eq!(back, rows);
    let (values, k) = back_logits.unwrap();
    assert_eq!(k, 3);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&values), bits(&logits));
}

#[test]
fn transfer_file_write_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tsv");
    let mut rows = sample_rows();
    rows[1].text_b = Some("x\ty".into());
    assert!(write_transfer_set(&path, &rows, None)
        .unwrap_err()
        .to_string()
        .contains("tab or line break"));
    rows[1].text_b = Some("x\ny".into());
    assert!(write_transfer_set(&path, &rows, None).is_err());
    rows[1].text_b = Some(String::new());
    assert!(write_transfer_set(&path, &rows, None).is_err());
    let rows = sample_rows();
    let err = write_transfer_set(&path, &rows, Some((&[0.0; 7], 2)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("num_examples=4") && err.contains("got 7"),
        "{err}"
    );
    assert!(write_transfer_set(&path, &rows, Some((&[f32::NAN; 4], 1))).is_err());
    assert!(!path.exists(), "a rejected write must not create the file");
}

#[test]
fn transfer_file_malformed_rows_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tsv");
    let header = "orig_id\taug\tmode\tlabel\ttext_a\ttext_b\tlogit_0";
    let good = "0\t0\toriginal\t1\ta b\t\t0.5";
    let cases = [
        ("", ":1:"),
        ("orig_id\taug\tmode\tlabel\ttext_a\n", ":1:"),
        (
            "orig_id\taug\tmode\tlabel\ttext_a\ttext_b\tlogit_1\n",
            ":1:",
        ),
        (
            &format!("{header}\n{good}\n0\t1\tsingle\t\tb\n") as &str,
            ":3:",
        ),
        (
            &format!("{header}\n{good}\nx\t1\tsingle\t\tb\t\t0\n"),
            ":3:",
        ),
        (
            &format!("{header}\n{good}\n0\t1\tshuffled\t\tb\t\t0\n"),
            ":3:",
        ),
        (
            &format!("{header}\n{good}\n0\t0\tsingle\t\tb\t\t0\n"),
            ":3:",
        ),
        (
            &format!("{header}\n{good}\n0\t1\tsingle\tpos\tb\t\t0\n"),
            ":3:",
        ),
        (
            &format!("{header}\n{good}\n0\t1\tsingle\t\tb\t\tnan\n"),
            ":3:",
        ),
        (&format!("{header}\n0\t1\tsingle\t\tb\t\t1e\n"), ":2:"),
    ];
    for (text, at) in cases {
        std::fs::write(&path, text).unwrap();
        let err = read_transfer_set(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("bad.tsv{at}")), "{text:?} gave {err}");
    }
    assert!(read_transfer_set(&dir.path().join("missing.tsv")).is_err());
}
