//! The second measure (agreement with the teacher on the unlabelled test split), the 2×2
//! factorial, the augmentation dose and the teacher section, on a hand-built run folder whose
//! every expected number is a count of the lists below.

mod common;

use common::{close, grid, render, row};
use reports::ablation::bootstrap::BootstrapConfig;
use reports::ablation::dose::Dose;
use reports::ablation::factorial::Factorial;
use reports::ablation::run::AblationRun;
use reports::ablation::table::{AblationTable, Measure};
use reports::ablation::teachers::TeacherSweep;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Dev labels of the 8 dev examples.
const LABELS: [usize; 8] = [0, 1, 0, 1, 0, 1, 0, 1];
/// The teacher's predictions on the 4 test sentences.
const TEACHER_TEST: [usize; 4] = [1, 0, 1, 0];

/// (model, data, targets, objective, soft, alpha, n_iter, size, teacher, dev correctness, test
/// predictions); both seeds predict the same.
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    usize,
    usize,
    &'static str,
    [u8; 8],
    [usize; 4],
);

const VARIANTS: [Spec; 6] = [
    (
        "bilstm",
        "train",
        "gold",
        "hard",
        "none",
        1.0,
        0,
        67,
        "teacher",
        [1, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 1],
    ),
    (
        "aug_inherited",
        "transfer",
        "inherited",
        "hard",
        "none",
        1.0,
        6,
        320,
        "teacher",
        [1, 1, 1, 0, 0, 0, 0, 0],
        [0, 1, 0, 1],
    ),
    (
        "kd_no_aug",
        "train",
        "teacher_logits",
        "distill",
        "mse",
        0.0,
        0,
        67,
        "teacher",
        [1, 1, 1, 1, 1, 1, 0, 0],
        [1, 0, 1, 1],
    ),
    (
        "bilstm_soft",
        "transfer",
        "teacher_logits",
        "distill",
        "mse",
        0.0,
        6,
        320,
        "teacher",
        [1, 1, 1, 1, 1, 1, 1, 0],
        [1, 0, 1, 0],
    ),
    (
        "mse_n_iter20",
        "transfer",
        "teacher_logits",
        "distill",
        "mse",
        0.0,
        20,
        900,
        "teacher",
        [1, 1, 1, 1, 1, 1, 1, 1],
        [1, 0, 1, 0],
    ),
    (
        "soft_b",
        "transfer",
        "teacher_logits",
        "distill",
        "mse",
        0.0,
        6,
        320,
        "teacher_b",
        [1, 1, 1, 1, 1, 1, 1, 1],
        [0, 0, 1, 0],
    ),
];

const SEEDS: [u64; 2] = [0, 1];

fn pct(correct: &[u8]) -> f64 {
    100.0 * correct.iter().filter(|&&c| c == 1).count() as f64 / correct.len() as f64
}

/// Writes the run folder under `results/conv`.
fn fixture(results: &Path) -> PathBuf {
    let dir = results.join("conv");
    std::fs::create_dir_all(dir.join("submissions")).unwrap();
    let mut variants = String::from(
        "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,transfer_size,description,teacher\n",
    );
    let mut metrics = String::from("task,model,split,metric,value,seed,config,git_rev\n");
    let mut preds = String::from("task,config,model,seed,split,example,label,prediction\n");
    let sub = |model: &str, seed: u64, p: &[usize]| {
        let mut t = String::from("index\tprediction\n");
        for (i, v) in p.iter().enumerate() {
            let _ = writeln!(t, "{i}\t{v}");
        }
        std::fs::write(
            dir.join(format!("submissions/SST-2.{model}.seed{seed}.tsv")),
            t,
        )
        .unwrap();
    };
    // Two teachers: `teacher` (right on every dev example) and `teacher_b` (seed 1, 6 of 8).
    for (t, seed, correct, test) in [
        ("teacher", 0u64, [1u8; 8], TEACHER_TEST),
        ("teacher_b", 1, [1, 1, 1, 1, 1, 1, 0, 0], [0, 0, 1, 0]),
    ] {
        let _ = writeln!(
            metrics,
            "sst2,{t},dev,accuracy,{},{seed},conv,abc",
            pct(&correct)
        );
        for (i, (&l, &c)) in LABELS.iter().zip(&correct).enumerate() {
            let p = if c == 1 { l } else { 1 - l };
            let _ = writeln!(preds, "sst2,conv,{t},{seed},dev,{i},{l},{p}");
        }
        sub(t, seed, &test);
    }
    for (k, (m, data, targets, obj, soft, alpha, n_iter, size, teacher, correct, test)) in
        VARIANTS.iter().enumerate()
    {
        let _ = writeln!(
            variants,
            "sst2,conv,{m},{},{data},{targets},{obj},{alpha},{soft},1,{n_iter},{size},{m} row,{teacher}",
            k == 0
        );
        for seed in SEEDS {
            let _ = writeln!(
                metrics,
                "sst2,{m},dev,accuracy,{},{seed},conv,abc",
                pct(correct)
            );
            for (i, (&l, &c)) in LABELS.iter().zip(correct).enumerate() {
                let p = if c == 1 { l } else { 1 - l };
                let _ = writeln!(preds, "sst2,conv,{m},{seed},dev,{i},{l},{p}");
            }
            sub(m, seed, test);
        }
    }
    // The run's own agreement row for one student: bilstm agrees with the teacher on 2 of 4.
    metrics.push_str("sst2,bilstm,test,teacher_agreement,50,0,conv,abc\n");
    std::fs::write(dir.join("variants.csv"), variants).unwrap();
    std::fs::write(dir.join("metrics.csv"), metrics).unwrap();
    std::fs::write(dir.join("dev_predictions.csv"), preds).unwrap();
    std::fs::write(
        dir.join("teachers.csv"),
        "task,config,model,kind,lr,epochs,warmup_ratio,weight_decay,max_len,pooling,seed,source,best_epoch,seconds,examples_per_sec,description\n\
         sst2,conv,teacher,fine_tune,0.00005,2,0.1,0.01,66,cls,0,,2,1200,115,\n\
         sst2,conv,teacher_b,fine_tune,0.00003,3,0.1,0.01,66,mean,1,,3,1800,110,mean pooled\n",
    )
    .unwrap();
    dir
}

fn setup() -> (tempfile::TempDir, PathBuf, AblationRun, AblationTable) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(&tmp.path().join("results"));
    let (run, table, _) = grid(&dir);
    (tmp, dir, run, table)
}

#[test]
fn test_agreement_is_the_second_measure_of_the_table() {
    let (_tmp, _dir, run, table) = setup();
    assert!(table.has_agreement);
    let row = |m: &str| row(&table, m);
    // Against its own teacher: soft_b agrees with teacher_b everywhere.
    assert!(close(row("soft_b").agreement.unwrap().mean, 100.0));
    assert!(close(row("bilstm").agreement.unwrap().mean, 50.0));
    assert!(close(row("aug_inherited").agreement.unwrap().mean, 0.0));
    assert!(close(row("bilstm_soft").agreement_delta.unwrap(), 50.0));
    assert_eq!(run.agreement.len(), 6);
    let md = table.to_markdown();
    assert!(md.contains("test agreement with its teacher (%)"), "{md}");
    let csv = table.to_csv();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("agree_verdict,equivalence_margin"));
}

#[test]
fn the_factorial_effects_on_both_measures() {
    let (_tmp, _dir, run, table) = setup();
    let cfg = BootstrapConfig::default();
    let f = Factorial::of(&run, &table, &cfg)
        .unwrap()
        .expect("four cells");
    let names: Vec<&str> = f.models.iter().flatten().map(|m| m.as_str()).collect();
    assert_eq!(
        names,
        ["bilstm", "aug_inherited", "kd_no_aug", "bilstm_soft"]
    );
    let dev = &f.measures[0];
    assert_eq!(dev.measure, Measure::DevAccuracy);
    // Cells 50, 37.5, 75, 87.5: teacher ((75-50) + (87.5-37.5))/2 = 37.5; augmentation
    // ((37.5-50) + (87.5-75))/2 = 0; interaction (87.5-37.5) - (75-50) = 25.
    let diffs: Vec<f64> = dev.effects.iter().map(|e| e.ci.diff).collect();
    assert!(
        close(diffs[0], 37.5) && close(diffs[1], 0.0) && close(diffs[2], 25.0),
        "{diffs:?}"
    );
    // Agreement cells 50, 0, 75, 100: teacher 62.5, augmentation -12.5, interaction 75.
    let agree = &f.measures[1];
    let diffs: Vec<f64> = agree.effects.iter().map(|e| e.ci.diff).collect();
    assert!(
        close(diffs[0], 62.5) && close(diffs[1], -12.5) && close(diffs[2], 75.0),
        "{diffs:?}"
    );
    for me in &f.measures {
        for e in &me.effects {
            assert!(e.ci.low <= e.ci.diff && e.ci.diff <= e.ci.high);
            assert!(
                e.ci.low <= e.ci90.low && e.ci90.high <= e.ci.high,
                "90% inside 95%"
            );
        }
    }
    let md = f.to_markdown();
    assert!(md.contains("interaction"), "{md}");
    assert!(
        f.paragraph()
            .contains("Teacher (main effect): dev accuracy +37.50"),
        "{}",
        f.paragraph()
    );
}

#[test]
fn the_dose_orders_levels_by_size_and_steps_between_them() {
    let (_tmp, _dir, run, table) = setup();
    let d = Dose::of(&run, &table, &BootstrapConfig::default())
        .unwrap()
        .expect("three levels");
    let levels: Vec<(usize, &str)> = d
        .levels
        .iter()
        .map(|l| (l.n_iter, l.model.as_str()))
        .collect();
    assert_eq!(
        levels,
        [(0, "kd_no_aug"), (6, "bilstm_soft"), (20, "mse_n_iter20")]
    );
    assert!(close(d.levels[2].measures[0].summary.unwrap().mean, 100.0));
    let step = d.levels[1].measures[0].step.as_ref().unwrap();
    assert!(close(step.ci.diff, 12.5));
    assert!(d.levels[0].measures[0].step.is_none());
    assert!(d.paragraph().contains("n_iter 0 → 6"), "{}", d.paragraph());
}

#[test]
fn the_teacher_section_pairs_each_student_with_its_teacher() {
    let (_tmp, _dir, run, table) = setup();
    let t = TeacherSweep::of(&run, &table, &BootstrapConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(t.teachers.len(), 2);
    assert!(close(t.teachers[1].dev.unwrap(), 75.0));
    let soft_b = t
        .students
        .iter()
        .find(|s| s.model.as_str() == "soft_b")
        .unwrap();
    assert_eq!(soft_b.teacher.as_str(), "teacher_b");
    assert!(close(soft_b.teacher_dev.unwrap(), 75.0));
    let md = t.to_markdown();
    assert!(md.contains("| `teacher_b` | fine_tune |"), "{md}");
    assert!(
        t.paragraph().contains("The best on dev is `teacher`"),
        "{}",
        t.paragraph()
    );
    // The one teacher other than `teacher` with a student is teacher_b: its student against
    // `teacher`'s student of the same recipe (transfer set n_iter 6, MSE).
    assert_eq!(t.vs_default.len(), 1);
    let (b, d, cmps) = &t.vs_default[0];
    assert_eq!((b.as_str(), d.as_str()), ("soft_b", "bilstm_soft"));
    assert!(close(cmps[0].1.as_ref().unwrap().ci.diff, 12.5));
    let p = t.paragraph();
    assert!(
        p.contains("`soft_b` (from `teacher_b`, 75.00) against `bilstm_soft` (from `teacher`, "),
        "{p}"
    );
    assert!(
        p.contains("(`soft_b`, from a worse teacher than `teacher`)"),
        "{p}"
    );
}

#[test]
fn the_report_renders_every_section_and_checks_the_run_s_agreement_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let dir = fixture(&results);
    let out = tmp.path().join("out");
    let output = render(&results, &out);
    for f in [
        "factorial.md",
        "factorial.csv",
        "dose.md",
        "dose.csv",
        "fig6_dose.png",
        "teachers.md",
        "fig7_teacher_student.png",
        "fig5_ablation.svg",
    ] {
        assert!(output.written.contains(&out.join("conv").join(f)), "{f}");
    }
    let svg = std::fs::read_to_string(out.join("conv/fig5_ablation.svg")).unwrap();
    assert!(svg.contains("test agreement"), "both measures in Figure 5");
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("**The 2×2 factorial**"), "{report}");
    assert!(report.contains("**The augmentation dose**"));
    assert!(report.contains("**Teachers**"));

    // metrics.csv's agreement must be the submissions' agreement.
    let m = dir.join("metrics.csv");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replace("teacher_agreement,50,", "teacher_agreement,75,"),
    )
    .unwrap();
    let err = AblationRun::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("teacher_agreement 75 but its submission agrees"),
        "{err}"
    );
}
