//! softmax(z/T) against PyTorch (fixtures/softmax_t.py → softmax_t.json), including logits far
//! enough apart to overflow a naive exp.

use reports::figures::softmax_t::{softmax_t, SoftmaxTFigure, TEMPERATURES};
use reports::load::LogitRow;

#[test]
fn matches_torch_softmax() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/softmax_t.json");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("missing fixture {path} ({e}); run fixtures/softmax_t.py"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let logits: Vec<f64> = case["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for t in TEMPERATURES {
            let key = format!("{t:.1}");
            let expected: Vec<f64> = case["probs"][&key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let got = softmax_t(&logits, t);
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    g.is_finite() && (g - e).abs() < 1e-12,
                    "z={logits:?} T={t}: {got:?} vs {expected:?}"
                );
            }
        }
    }
}

#[test]
fn higher_temperature_flattens() {
    let rows = vec![
        LogitRow {
            sentence: "s".into(),
            class: 1,
            label_name: "positive".into(),
            logit: 2.9,
        },
        LogitRow {
            sentence: "s".into(),
            class: 0,
            label_name: "negative".into(),
            logit: -2.2,
        },
    ];
    let fig = SoftmaxTFigure::new(&rows);
    assert_eq!(fig.labels, ["negative", "positive"], "ordered by class");
    let probs = fig.probabilities();
    let maxes: Vec<f64> = probs.iter().map(|(_, p)| p[1]).collect();
    assert!(maxes.windows(2).all(|w| w[0] > w[1]), "{maxes:?}");
    assert!(
        fig.to_markdown().contains("| 1 | 0.0061 | 0.9939 |"),
        "{}",
        fig.to_markdown()
    );
}
