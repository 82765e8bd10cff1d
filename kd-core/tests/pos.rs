//! The NLTK averaged-perceptron tagger: a hand-made model for each decoding rule, and the real
//! model against `nltk.pos_tag` tags recorded by `fixtures/nltk_tags/make_tags.py`.

use kd_core::pos::PosTagger;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn model_dir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/pos/averaged_perceptron_tagger_eng");
    assert!(
        dir.is_dir(),
        "NLTK tagger model not found at {} (scripts/setup.sh links data -> the shared data folder)",
        dir.display()
    );
    dir
}

/// A tiny model: classes DT, JJ, NN, NNS, CD, VB; features chosen per test.
fn tiny(features: &[(&str, &[(&str, f64)])], tagdict: &[(&str, &str)]) -> PosTagger {
    let weights: HashMap<String, HashMap<String, f64>> = features
        .iter()
        .map(|(f, ws)| {
            (
                f.to_string(),
                ws.iter().map(|(t, w)| (t.to_string(), *w)).collect(),
            )
        })
        .collect();
    let tagdict = tagdict
        .iter()
        .map(|(w, t)| (w.to_string(), t.to_string()))
        .collect();
    let classes = ["DT", "JJ", "NN", "NNS", "CD", "VB"]
        .map(String::from)
        .to_vec();
    PosTagger::from_parts(weights, tagdict, classes)
}

fn tags<'a>(tagger: &'a PosTagger, sentence: &str) -> Vec<&'a str> {
    tagger.tag_names(&sentence.split_whitespace().collect::<Vec<_>>())
}

#[test]
fn ties_go_to_the_greater_tag_string() {
    // No feature fires: every score is 0 and the greatest string, "VB", wins.
    let t = tiny(&[], &[]);
    assert_eq!(tags(&t, "anything at all"), ["VB", "VB", "VB"]);
    // NN and NNS tie above the rest: NNS > NN.
    let t = tiny(&[("bias", &[("NN", 1.0), ("NNS", 1.0), ("VB", -1.0)])], &[]);
    assert_eq!(tags(&t, "x"), ["NNS"]);
    // A tiny margin decides.
    let t = tiny(&[("bias", &[("NN", 1.0), ("NNS", 0.999)])], &[]);
    assert_eq!(tags(&t, "x"), ["NN"]);
    // A weight on a tag outside the classes never wins (NLTK takes the max over its classes).
    let t = tiny(&[("bias", &[("ZZZ", 5.0), ("DT", 1.0)])], &[]);
    assert_eq!(tags(&t, "x"), ["DT"]);
}

#[test]
fn tagdict_hits_are_verbatim_and_override_weights() {
    let t = tiny(
        &[("bias", &[("NN", 10.0)])],
        &[("the", "DT"), ("Hmm", "UH")],
    );
    assert_eq!(tags(&t, "the The Hmm hmm"), ["DT", "NN", "UH", "NN"]);
    // A tagdict tag missing from the classes is appended so that it can be returned.
    assert_eq!(t.classes().last().map(String::as_str), Some("UH"));
    assert!(t.tag(&[]).is_empty());
}

#[test]
fn normalisation_rules_feed_the_word_features() {
    let t = tiny(
        &[
            ("bias", &[("NN", 0.5)]),
            ("i word !HYPHEN", &[("JJ", 1.0)]),
            ("i word !YEAR", &[("CD", 1.0)]),
            ("i word !DIGITS", &[("NNS", 1.0)]),
            ("i word dogs", &[("VB", 1.0)]),
        ],
        &[],
    );
    assert_eq!(
        tags(&t, "well-made -LRB- 1999 19999 3.50 7a DOGS dogs ½"),
        ["JJ", "NN", "CD", "NNS", "NNS", "NNS", "VB", "VB", "NN"]
    );
}

#[test]
fn context_and_previous_tag_features() {
    // Suffix and prefix use the raw token; the neighbour features use normalised context words;
    // the previous predicted tags feed the next decision.
    let t = tiny(
        &[
            ("i suffix ING", &[("VB", 2.0)]),
            ("i pref1 Q", &[("JJ", 2.0)]),
            ("i-1 tag VB", &[("DT", 3.0)]),
            ("i-2 tag -START-", &[("NN", 0.1)]),
            ("i tag+i-2 tag DT VB", &[("CD", 9.0)]),
            ("i+1 word !year", &[("NNS", 1.0)]),
            ("i+1 word !YEAR", &[("NNS", 5.0)]),
            ("i suffix ing", &[("NN", 1.0)]),
        ],
        &[],
    );
    // "RUNNING" -> VB (suffix "ING"); next: prev VB -> DT; next: prev DT, prev2 VB -> CD.
    assert_eq!(tags(&t, "RUNNING x y"), ["VB", "DT", "CD"]);
    // "running" has the raw suffix "ing", not "ING".
    assert_eq!(tags(&t, "running"), ["NN"]);
    assert_eq!(tags(&t, "Quick"), ["JJ"]);
    // Followed by a year: the i+1 word feature sees "!YEAR".
    // "2003": prev NNS, prev2 -START- -> NN.
    assert_eq!(tags(&t, "in 2003"), ["NNS", "NN"]);
}

#[test]
fn load_reports_missing_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = PosTagger::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(".weights.json"), "{err}");
    std::fs::write(
        dir.path().join("m.weights.json"),
        r#"{"bias": {"NN": 1.0}}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("m.tagdict.json"), r#"{"the": "DT"}"#).unwrap();
    std::fs::write(dir.path().join("m.classes.json"), r#"["NN", "DT"]"#).unwrap();
    let t = PosTagger::load(dir.path()).unwrap();
    assert_eq!(tags(&t, "the cat"), ["DT", "NN"]);
    std::fs::write(dir.path().join("m.tagdict.json"), r#"{"the": "XX"}"#).unwrap();
    let err = PosTagger::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("m.tagdict.json") && err.contains("XX"),
        "{err}"
    );
    std::fs::write(dir.path().join("m.tagdict.json"), "{\"the\":\n \"DT\",,}").unwrap();
    let err = PosTagger::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("m.tagdict.json:2"), "{err}");
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    source: String,
    text: String,
    tags: Vec<String>,
}

#[test]
fn real_model_matches_nltk_pos_tag() {
    let tagger = PosTagger::load(&model_dir()).unwrap();
    assert_eq!(tagger.classes().len(), 45);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nltk_tags/tags.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run fixtures/nltk_tags/make_tags.py)",
            path.display()
        )
    });
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    let sst2 = fixture
        .cases
        .iter()
        .filter(|c| c.source == "sst2-train")
        .count();
    assert_eq!(
        sst2,
        20,
        "expected 20 SST-2 training sentences in {}",
        path.display()
    );
    let mut tokens_checked = 0;
    for case in &fixture.cases {
        let ours = tags(&tagger, &case.text);
        assert_eq!(
            ours, case.tags,
            "tags differ from nltk.pos_tag for {:?}",
            case.text
        );
        tokens_checked += ours.len();
    }
    assert!(tokens_checked > 250, "only {tokens_checked} tokens checked");
}
