//! The one pipeline behind every task binary (§3 of the paper, end to end), as a list of stages
//! whose keys are all known before any of them runs ([`Plan`]):
//!
//! 1. fine-tune the teacher ([`stages::teacher`]);
//! 2. build each transfer set the students need ([`stages::transfer`]) and
//! 3. label it with the teacher's logits ([`stages::labels`]);
//! 4. train every student variant × seed ([`stages::student`]);
//! 5. evaluate every model, write submissions and the result files ([`stages::evaluate`]).
//!
//! Stages live in the shared store ([`crate::store`]); the run's out dir holds what this run
//! produced: `config.yaml`, `metrics.csv`, `history.csv`, `variants.csv`, `dev_predictions.csv`,
//! `softmax_t.csv` (SST-2), `submissions/`, `stages.json` (the stages it used) and `log.txt`
//! (`logs/cell-K.log` per cell when it runs as cells).
//!
//! The same work is also a list of [`cells`] (teacher, each transfer set, each labelling shard,
//! each student, the evaluation), each runnable alone (`--cell K`) by an array job over one
//! shared store; the serial run is every cell in order, in one process.

pub mod cells;

use crate::config::{DataSource, ExperimentConfig, StudentRun, TeacherSource, TeacherSpec};
use crate::data::{load_task_data, TaskData};
use crate::log::RunLog;
use crate::logln;
use crate::names::{task_slug, ModelName};
use crate::results::{git_rev, write_csv, HistoryRow, TeacherRow, VariantRow, BUILD_REV};
use crate::stages::evaluate::{load_student, score, Evaluation, Subject};
use crate::stages::predictions::{self, Predictions};
use crate::stages::{self, TrainSummary};
use crate::store::{files_digest, path_digest, try_lock_file, Stage, Store};
use anyhow::{bail, Context, Result};
use bilstm_student::Objective;
use kd_core::augment::AugmentConfig;
use kd_core::loss::SoftLoss;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything a run needs, resolved by the command line.
pub struct RunSpec {
    /// The checked config.
    pub cfg: ExperimentConfig,
    /// The GLUE task folder.
    pub data_dir: PathBuf,
    /// Where this run's result files go.
    pub out_dir: PathBuf,
    /// The stage store.
    pub store: PathBuf,
    /// Where tensors live.
    pub device: tch::Device,
}

/// One teacher of the run: how it is made, and its stages.
pub struct TeacherPlan {
    /// Its name and source.
    pub spec: TeacherSpec,
    /// The fine-tune stage its weights come from: its own (a fine-tune) or its parent's (an
    /// epoch checkpoint); `None` for an ensemble or a directory.
    pub stage: Option<Stage>,
    /// For a directory teacher, the directory.
    pub dir: Option<PathBuf>,
    /// Its logits on every dev and test split (evaluation, and the students' fidelity).
    pub predictions: Stage,
    /// What a labelling or predictions key says about this teacher (`Null` for an ensemble,
    /// whose keys name its members' stages instead).
    id: serde_json::Value,
}

impl TeacherPlan {
    /// Whether this teacher has a fine-tune stage of its own (and so a cell).
    pub fn is_fine_tune(&self) -> bool {
        matches!(self.spec.source, TeacherSource::FineTune(_))
    }
}

/// One transfer set the students need: its augmentation and its stage.
pub struct TransferPlan {
    /// The augmentation settings.
    pub augment: AugmentConfig,
    /// The augmented set.
    pub transfer: Stage,
}

/// One (teacher, transfer set) pair some student reads: the teacher's logits on the set.
pub struct LabelsPlan {
    /// Index into [`Plan::teachers`].
    pub teacher: usize,
    /// Index into [`Plan::transfers`].
    pub set: usize,
    /// The labelled set.
    pub stage: Stage,
}

/// One student to train and the stage it trains into.
pub struct StudentPlan {
    /// The variant at one seed.
    pub run: StudentRun,
    /// Its stage.
    pub stage: Stage,
    /// Index into [`Plan::teachers`] of its teacher.
    pub teacher: usize,
    /// Index into [`Plan::transfers`] of the set it trains on (`data: transfer`).
    pub transfer: Option<usize>,
    /// Index into [`Plan::labels`] of the labelled set it reads: its transfer set's
    /// (`data: transfer`), or the shared set's whose originals give teacher targets on the
    /// training set.
    pub labels: Option<usize>,
}

/// Every stage of a run, keys computed up front from the config and the inputs' contents.
pub struct Plan {
    /// The teachers, `teacher` first, every ensemble and epoch checkpoint after what it reads.
    pub teachers: Vec<TeacherPlan>,
    /// Index of `students.teacher`, the teacher of the run's figures (softmax-T).
    pub designated: usize,
    /// The transfer sets; the shared `augment` block's first when it is needed.
    pub transfers: Vec<TransferPlan>,
    /// Index of the shared `augment` block's set, whose originals give teacher targets on the
    /// training set.
    pub base: Option<usize>,
    /// The labelled sets, by transfer set, then by teacher (an ensemble's after its members').
    pub labels: Vec<LabelsPlan>,
    /// The students, in config order.
    pub students: Vec<StudentPlan>,
}

impl Plan {
    /// Computes every stage's key: content digests of the inputs, the settings that matter
    /// (normalised: no threads, progress or evaluation batch sizes) and the stage versions.
    pub fn new(cfg: &ExperimentConfig, data: &TaskData, store: &Store) -> Result<Self> {
        let resolved = cfg.resolve_all()?;
        let teachers = teacher_plans(cfg, data, store, resolved.teachers)?;
        let runs = resolved.students;
        let index_of = |name: &ModelName| {
            teachers
                .iter()
                .position(|t| &t.spec.name == name)
                .with_context(|| format!("no teacher named {name}"))
        };
        let designated = index_of(
            &ModelName::new(
                cfg.students
                    .teacher
                    .as_deref()
                    .unwrap_or(crate::config::teachers::DEFAULT_TEACHER),
            )
            .map_err(anyhow::Error::msg)?,
        )?;
        let transfers = transfer_plans(cfg, data, store, &runs)?;
        let base = transfers.iter().position(|t| t.augment == cfg.augment);
        // (teacher, set) of every student that reads teacher logits.
        let mut reads = Vec::new();
        let mut pairs = Vec::new();
        for run in &runs {
            let teacher = index_of(&run.teacher)?;
            let transfer = run
                .augment
                .as_ref()
                .and_then(|a| transfers.iter().position(|t| &t.augment == a));
            let set = match run.data {
                DataSource::Transfer => transfer,
                DataSource::Train if run.targets.needs_teacher() => base,
                DataSource::Train => None,
            };
            if let Some(set) = set {
                pairs.push((teacher, set));
            }
            reads.push((teacher, transfer, set));
        }
        let labels = labels_plans(store, &teachers, &transfers, pairs)?;
        let mut vectors: HashMap<PathBuf, String> = HashMap::new();
        let mut students = Vec::new();
        for (run, (teacher, transfer, set)) in runs.into_iter().zip(reads) {
            let labels_index = set.and_then(|s| {
                labels
                    .iter()
                    .position(|l| l.teacher == teacher && l.set == s)
            });
            let labels_key = labels_index.map(|i| labels[i].stage.key.as_str());
            let stage = student_stage(cfg, data, store, &run, labels_key, &mut vectors)?;
            students.push(StudentPlan {
                run,
                stage,
                teacher,
                transfer,
                labels: labels_index,
            });
        }
        Ok(Self {
            teachers,
            designated,
            transfers,
            base,
            labels,
            students,
        })
    }

    /// The fine-tuned teacher `t` (its index), for cells and tests.
    pub fn teacher_stage(&self, t: usize) -> Option<&Stage> {
        self.teachers[t].stage.as_ref()
    }
}

/// The teacher's stage: the training and selection data, the initial checkpoint's three files
/// and the fine-tuning settings (the default teacher's key is what it was before teachers were
/// data: the same settings give the same stage).
fn teacher_stage(
    cfg: &ExperimentConfig,
    data: &TaskData,
    store: &Store,
    fine_tune: &bert_teacher::FineTuneConfig,
) -> Result<Stage> {
    let dev = data.selection_dev();
    let init = checkpoint_digest(&cfg.paths.teacher_init).with_context(|| {
        format!(
            "the teacher checkpoint {}",
            cfg.paths.teacher_init.display()
        )
    })?;
    let mut fine_tune = fine_tune.clone();
    fine_tune.eval_batch_size = 0;
    store.stage(
        "teacher",
        stages::TEACHER_VERSION,
        &json!({
            "train": data.train_digest, "max_train": cfg.data.max_train,
            "dev": dev.digest, "max_dev": cfg.data.max_dev,
            "checkpoint": init, "fine_tune": fine_tune,
        }),
    )
}

/// Digest of the three files a teacher directory is loaded from.
fn checkpoint_digest(dir: &Path) -> Result<String> {
    files_digest(
        dir,
        &[
            bert_teacher::teacher::WEIGHTS_FILE,
            bert_teacher::teacher::CONFIG_FILE,
            bert_teacher::teacher::TOKENIZER_FILE,
        ],
    )
}

/// Every teacher's stages. A fine-tune's labels are keyed by its stage (as before teachers were
/// data), an epoch checkpoint's by its parent's stage and the epoch, a directory's by its
/// files, an ensemble's by its members' stages.
fn teacher_plans(
    cfg: &ExperimentConfig,
    data: &TaskData,
    store: &Store,
    specs: Vec<TeacherSpec>,
) -> Result<Vec<TeacherPlan>> {
    let mut splits = Vec::new();
    for s in data.dev.iter().chain(&data.test) {
        splits.push(json!([s.file.name, s.digest]));
    }
    let splits = json!({
        "splits": splits, "max_dev": cfg.data.max_dev, "max_test": cfg.data.max_test,
    });
    let mut plans: Vec<TeacherPlan> = Vec::new();
    for spec in specs {
        let (stage, dir, id) = match &spec.source {
            TeacherSource::FineTune(f) => {
                let stage = teacher_stage(cfg, data, store, f)?;
                let id = json!({ "teacher": stage.key });
                (Some(stage), None, id)
            }
            TeacherSource::Epoch { of, epoch } => {
                let stage = plans[*of].stage.clone();
                let key = stage.as_ref().map(|s| s.key.clone());
                (stage, None, json!({ "teacher": key, "epoch": epoch }))
            }
            TeacherSource::Dir(p) => {
                let digest = checkpoint_digest(p)
                    .with_context(|| format!("teachers.{}.dir {}", spec.name, p.display()))?;
                (None, Some(p.clone()), json!({ "teacher_dir": digest }))
            }
            TeacherSource::Ensemble(_) => (None, None, serde_json::Value::Null),
        };
        let predictions = match &spec.source {
            TeacherSource::Ensemble(members) => {
                let keys: Vec<&str> = members
                    .iter()
                    .map(|&m| plans[m].predictions.key.as_str())
                    .collect();
                store.stage(
                    "predictions",
                    stages::PREDICTIONS_VERSION,
                    &json!({ "ensemble": keys }),
                )?
            }
            _ => store.stage(
                "predictions",
                stages::PREDICTIONS_VERSION,
                &json!({ "teacher": id, "data": splits }),
            )?,
        };
        plans.push(TeacherPlan {
            spec,
            stage,
            dir,
            predictions,
            id,
        });
    }
    Ok(plans)
}

/// The transfer sets the runs need (the shared `augment` block's first, when a `data: train`
/// run needs teacher targets).
fn transfer_plans(
    cfg: &ExperimentConfig,
    data: &TaskData,
    store: &Store,
    runs: &[StudentRun],
) -> Result<Vec<TransferPlan>> {
    let needs_base = runs
        .iter()
        .any(|r| r.data == DataSource::Train && r.targets.needs_teacher());
    let mut augments: Vec<AugmentConfig> = Vec::new();
    if needs_base {
        augments.push(cfg.augment.clone());
    }
    for a in runs.iter().filter_map(|r| r.augment.as_ref()) {
        if !augments.contains(a) {
            augments.push(a.clone());
        }
    }
    if augments.is_empty() {
        return Ok(Vec::new());
    }
    let pos = path_digest(&cfg.paths.pos_model)
        .with_context(|| format!("the POS model {}", cfg.paths.pos_model.display()))?;
    let mut transfers = Vec::new();
    for augment in augments {
        let transfer = store.stage(
            "transfer",
            stages::TRANSFER_VERSION,
            &json!({
                "train": data.train_digest, "max_train": cfg.data.max_train,
                "augment": augment, "pos_model": pos,
            }),
        )?;
        transfers.push(TransferPlan { augment, transfer });
    }
    Ok(transfers)
}

/// The labelled sets of the `(teacher, set)` pairs the students read, with every ensemble's
/// members' sets added, ordered by set and then by teacher (members before their ensemble).
fn labels_plans(
    store: &Store,
    teachers: &[TeacherPlan],
    transfers: &[TransferPlan],
    pairs: Vec<(usize, usize)>,
) -> Result<Vec<LabelsPlan>> {
    let mut needed = std::collections::BTreeSet::new();
    let mut todo = pairs;
    while let Some((t, set)) = todo.pop() {
        if needed.insert((set, t)) {
            if let TeacherSource::Ensemble(members) = &teachers[t].spec.source {
                todo.extend(members.iter().map(|&m| (m, set)));
            }
        }
    }
    let mut plans: Vec<LabelsPlan> = Vec::new();
    // BTreeSet order: by set, then by teacher index (members precede their ensemble).
    for (set, t) in needed {
        let transfer_key = &transfers[set].transfer.key;
        let inputs = match &teachers[t].spec.source {
            TeacherSource::Ensemble(members) => {
                let keys: Vec<&str> = members
                    .iter()
                    .map(|&m| {
                        plans
                            .iter()
                            .find(|l| l.teacher == m && l.set == set)
                            .map(|l| l.stage.key.as_str())
                            .expect("members are planned before their ensemble")
                    })
                    .collect();
                json!({ "ensemble": keys, "transfer": transfer_key })
            }
            _ => {
                let mut id = teachers[t].id.clone();
                id["transfer"] = json!(transfer_key);
                id
            }
        };
        let stage = store.stage("labels", stages::LABELS_VERSION, &inputs)?;
        plans.push(LabelsPlan {
            teacher: t,
            set,
            stage,
        });
    }
    Ok(plans)
}

/// One student run's stage: its data's stage (or the training file), its targets, the model
/// with the vectors' content instead of their path, and the training settings that matter.
fn student_stage(
    cfg: &ExperimentConfig,
    data: &TaskData,
    store: &Store,
    run: &StudentRun,
    labels_key: Option<&str>,
    vectors: &mut HashMap<PathBuf, String>,
) -> Result<Stage> {
    let mut model = run.model.clone();
    let vec_digest = match model.embedding.vectors.take() {
        Some(p) => Some(match vectors.get(&p) {
            Some(d) => d.clone(),
            None => {
                let d =
                    path_digest(&p).with_context(|| format!("the word vectors {}", p.display()))?;
                vectors.insert(p.clone(), d.clone());
                d
            }
        }),
        None => None,
    };
    let mut train = run.train.clone();
    train.eval_batch_size = 0;
    train.threads = None;
    train.progress = false;
    let source = match (run.data, labels_key) {
        (DataSource::Transfer, Some(key)) => json!({ "labels": key }),
        (DataSource::Train, _) => json!({
            "train": data.train_digest, "max_train": cfg.data.max_train,
            "labels": if run.targets.needs_teacher() { labels_key } else { None },
        }),
        (DataSource::Transfer, None) => bail!("{}: no transfer set planned", run.variant),
    };
    store.stage(
        "student",
        stages::STUDENT_VERSION,
        &json!({
            "source": source, "targets": run.targets,
            "dev": data.selection_dev().digest, "max_dev": cfg.data.max_dev,
            "model": model, "vectors": vec_digest, "train": train,
        }),
    )
}

/// A stage this run used, for `stages.json`.
#[derive(Serialize)]
struct StageRef<'a> {
    stage: &'a str,
    key: &'a str,
    dir: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// Runs the whole pipeline: the stages of [`Plan`] in order, then the evaluation — every cell of
/// [`cells::cells`] in order, in this process.
pub fn run(spec: &RunSpec) -> Result<()> {
    let out_dir = &spec.out_dir;
    let _out_lock = lock_out_dir(out_dir)?;
    let run = Run::start(spec, None)?;
    let plan = Plan::new(&spec.cfg, &run.data, &run.store)?;
    logln!(
        run.log,
        "plan: teacher, {} transfer set(s), {} student run(s)",
        plan.transfers.len(),
        plan.students.len()
    );
    cells::Exec::new(&run, &plan, true).run_all()
}

/// Creates the out dir, takes its lock (failing at once when another run holds it) and sweeps
/// what a killed writer left there.
fn lock_out_dir(out_dir: &Path) -> Result<crate::store::FileLock> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let lock_path = out_dir.join(".lock");
    let Some(out_lock) = try_lock_file(&lock_path)? else {
        bail!(
            "{} is in use by another run (lock {}): wait for it to finish or choose another --out-dir",
            out_dir.display(),
            lock_path.display()
        );
    };
    crate::store::sweep_tree(out_dir)?;
    Ok(out_lock)
}

/// The run's cells (see [`cells`]), computed from the config and the inputs' contents alone:
/// nothing is read from the store nor written anywhere.
pub fn list_cells(spec: &RunSpec) -> Result<Vec<cells::Cell>> {
    let data = load_task_data(spec.cfg.task, &spec.data_dir, &spec.cfg)?;
    let store = Store {
        root: spec.store.clone(),
    };
    let plan = Plan::new(&spec.cfg, &data, &store)?;
    Ok(cells::cells(&plan, &spec.cfg, &spec.out_dir))
}

/// Runs cell `index` of [`list_cells`] alone, once the cells it depends on are finished in the
/// store: without `wait` a missing one is an error naming it; with it, the store is polled until
/// they are (an error after `wait`, or at once when a failed cell left its marker there). With
/// `expect`, the run must have that many cells (the array's size): anything else is an error
/// before any work. The evaluation cell locks the out dir and writes the run's result files there
/// as [`run`] does; the other cells only write their log, `logs/cell-K.log`. A cell that fails
/// (or is stopped by a signal) leaves `failed.json` in its stage dir for the cells waiting for it
/// ([`crate::store::mark_failed`]); the next attempt removes it.
pub fn run_cell(
    spec: &RunSpec,
    index: usize,
    wait: Option<Duration>,
    expect: Option<usize>,
) -> Result<()> {
    std::fs::create_dir_all(&spec.out_dir)
        .with_context(|| format!("creating {}", spec.out_dir.display()))?;
    let run = Run::start(spec, Some(index))?;
    let plan = Plan::new(&spec.cfg, &run.data, &run.store)?;
    let mut exec = cells::Exec::new(&run, &plan, false);
    let n = exec.cells.len();
    if let Some(expected) = expect.filter(|&e| e != n) {
        bail!(
            "--expect-cells {expected}: this run has {n} cells (0 to {}), so the array was sized \
             for other arguments or another config: size it from `--list-cells` with the \
             arguments every cell gets (deploy/slurm/submit.sh does)",
            n - 1
        );
    }
    let Some(cell) = exec.cells.get(index) else {
        bail!(
            "--cell {index}: this run has {n} cells, 0 to {} (see --list-cells)",
            n - 1
        );
    };
    logln!(
        run.log,
        "{} {} -> {} (cells 0-{} of this run)",
        cell.kind.label(),
        cell.name,
        cell.dir.display(),
        n - 1
    );
    // The evaluation's dir is the out dir, which nothing waits for: no marker there.
    let marker = (cell.kind != cells::CellKind::Evaluate).then(|| {
        (
            cell.dir.clone(),
            format!("cell {index} ({} {})", cell.kind.label(), cell.name),
        )
    });
    if let Some((dir, who)) = marker.clone() {
        crate::terminate::on_signal(move |signal| {
            let _ = crate::store::mark_failed(&dir, &who, &format!("stopped by {signal}"));
        });
    }
    let result = (|| {
        if let Err(e) = exec.await_needs(index, wait) {
            // A cell that ran too early by hand is no failure of its stage; a waiting one that
            // gave up (an upstream failure, a timeout) is, for the cells that wait on it.
            return Err((e, wait.is_some()));
        }
        if let Some((dir, _)) = &marker {
            crate::store::clear_failure(dir).map_err(|e| (e, false))?;
        }
        let _out_lock = if exec.cells[index].kind == cells::CellKind::Evaluate {
            let lock = lock_out_dir(&spec.out_dir).map_err(|e| (e, true))?;
            write_config(spec).map_err(|e| (e, true))?;
            Some(lock)
        } else {
            None
        };
        exec.run_cell(index).map_err(|e| (e, true))
    })();
    match result {
        Ok(()) => Ok(()),
        Err((e, failed)) => {
            if let (true, Some((dir, who))) = (failed, &marker) {
                let first = format!("{e:#}");
                let first = first.lines().next().unwrap_or_default();
                if let Err(m) = crate::store::mark_failed(dir, who, first) {
                    logln!(
                        run.log,
                        "could not leave the failure marker in {}: {m:#}",
                        dir.display()
                    );
                }
            }
            Err(e)
        }
    }
}

/// Writes the resolved config into the out dir.
fn write_config(spec: &RunSpec) -> Result<()> {
    kd_core::io::atomic_write_bytes(
        &spec.out_dir.join("config.yaml"),
        serde_yaml::to_string(&spec.cfg)?.as_bytes(),
    )?;
    Ok(())
}

/// A started run: its config, data, store and log (the out dir is locked by the caller).
struct Run<'a> {
    spec: &'a RunSpec,
    store: Store,
    log: RunLog,
    data: TaskData,
    rev: String,
}

impl<'a> Run<'a> {
    /// Opens the store and the log, writes the resolved config and loads the data. For one cell
    /// (`cell` K), the log is `logs/cell-K.log` in the out dir (one writer per file: appends from
    /// several NFS clients to one file are not line-atomic), its lines are prefixed `cell K: `,
    /// and no config is written (the evaluation cell writes it with the results).
    fn start(spec: &'a RunSpec, cell: Option<usize>) -> Result<Self> {
        let cfg = &spec.cfg;
        let out_dir = &spec.out_dir;
        let store = Store::open(&spec.store)?;
        let log = match cell {
            Some(k) => {
                let logs = out_dir.join("logs");
                std::fs::create_dir_all(&logs)
                    .with_context(|| format!("creating {}", logs.display()))?;
                RunLog::open(&logs.join(format!("cell-{k}.log")))
                    .with_prefix(&format!("cell {k}: "))
            }
            None => {
                write_config(spec)?;
                RunLog::open(&out_dir.join("log.txt"))
            }
        };
        if let Some(n) = cfg.threads {
            tch::set_num_threads(n as i32);
        }
        let rev = git_rev();
        logln!(
            log,
            "{}: config '{}', seed {}, data {}, out {}, store {}, device {:?}, {} threads, git {rev} \
             (binary built at {BUILD_REV})",
            task_slug(cfg.task),
            cfg.name,
            cfg.seed,
            spec.data_dir.display(),
            out_dir.display(),
            store.root.display(),
            spec.device,
            tch::get_num_threads()
        );
        let data = load_task_data(cfg.task, &spec.data_dir, cfg)?;
        let sizes = |splits: &[crate::data::Split]| {
            splits
                .iter()
                .map(|s| format!("{}={}", s.file.name, s.examples.len()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        logln!(
            log,
            "data: {} train, dev {}, test {}",
            data.train.len(),
            sizes(&data.dev),
            sizes(&data.test)
        );
        Ok(Self {
            spec,
            store,
            log,
            data,
            rev,
        })
    }

    /// Evaluates every teacher (its predictions stage: computed once, then cached) and every
    /// student (with its fidelity to its teacher), and writes the run's result files.
    /// `teacher_summaries[t]` is teacher `t`'s training record (fine-tunes and their epoch
    /// checkpoints); `load_teacher` loads a teacher's model.
    fn evaluate(
        &self,
        plan: &Plan,
        load_teacher: &dyn Fn(usize) -> Result<std::rc::Rc<bert_teacher::Teacher>>,
        teacher_summaries: &[Option<TrainSummary>],
        summaries: &[TrainSummary],
        transfer_sizes: &[usize],
    ) -> Result<()> {
        let cfg = &self.spec.cfg;
        let (task, out_dir) = (cfg.task, &self.spec.out_dir);
        let submissions = out_dir.join("submissions");
        let subject = |model, seed| Subject {
            task,
            model,
            seed,
            config: &cfg.name,
            git_rev: &self.rev,
        };
        let classes = task.num_classes();
        let mut preds: Vec<Predictions> = Vec::new();
        for (t, tp) in plan.teachers.iter().enumerate() {
            let what = format!("predictions of {}", tp.spec.name);
            let compute = || match &tp.spec.source {
                TeacherSource::Ensemble(members) => {
                    predictions::mean(&members.iter().map(|&m| &preds[m]).collect::<Vec<_>>())
                }
                _ => predictions::compute(
                    &*load_teacher(t)?,
                    &self.data,
                    cfg.teacher.label_batch_size,
                ),
            };
            let p = predictions::run(
                &tp.predictions,
                &what,
                &self.data,
                classes,
                self.spec.device,
                &self.log,
                &compute,
            )?;
            preds.push(p);
        }
        let mut ev = Evaluation::default();
        let mut history = Vec::new();
        for (t, tp) in plan.teachers.iter().enumerate() {
            let seed = teacher_seed(&plan.teachers, t);
            let e = score(
                &preds[t],
                &subject(&tp.spec.name, seed),
                &self.data,
                &submissions,
                None,
            )?;
            ev.extend(e);
            if let Some(summary) = &teacher_summaries[t] {
                history.extend(history_rows(task, &cfg.name, &tp.spec.name, seed, summary));
            }
        }
        for (sp, summary) in plan.students.iter().zip(summaries) {
            let (student, _vs) = load_student(&sp.stage.dir, self.spec.device)?;
            let p = predictions::compute(&student, &self.data, sp.run.train.eval_batch_size)?;
            let e = score(
                &p,
                &subject(&sp.run.variant, sp.run.seed),
                &self.data,
                &submissions,
                Some(&preds[sp.teacher]),
            )?;
            ev.extend(e);
            history.extend(history_rows(
                task,
                &cfg.name,
                &sp.run.variant,
                sp.run.seed,
                summary,
            ));
        }
        let variants = variant_rows(cfg, plan, transfer_sizes, &self.data);
        let teachers = teacher_rows(cfg, plan, teacher_summaries);
        self.write_results(plan, &ev, &history, &variants, &teachers)?;
        if task == kd_core::data::Task::Sst2 {
            stages::evaluate::softmax_t_example(
                out_dir,
                task,
                &preds[plan.designated],
                &self.data,
            )?;
        }
        for (t, size) in plan.transfers.iter().zip(transfer_sizes) {
            logln!(
                self.log,
                "transfer set n_iter {}: {} originals -> {size} examples",
                t.augment.n_iter,
                self.data.train.len()
            );
        }
        for line in crate::compare::comparison_lines(task, &ev.metrics)? {
            logln!(self.log, "{line}");
        }
        logln!(self.log, "done: {}", out_dir.join("metrics.csv").display());
        Ok(())
    }

    /// Writes the run's result files into its out dir: the tidy CSVs, `stages.json` and
    /// `run.json` (the command, the code and the machine that produced them).
    fn write_results(
        &self,
        plan: &Plan,
        ev: &Evaluation,
        history: &[HistoryRow],
        variants: &[VariantRow],
        teachers: &[TeacherRow],
    ) -> Result<()> {
        let (cfg, out_dir) = (&self.spec.cfg, &self.spec.out_dir);
        write_csv(&out_dir.join("metrics.csv"), &ev.metrics)?;
        write_csv(&out_dir.join("history.csv"), history)?;
        write_csv(&out_dir.join("variants.csv"), variants)?;
        write_csv(&out_dir.join("teachers.csv"), teachers)?;
        write_csv(&out_dir.join("dev_predictions.csv"), &ev.predictions)?;
        write_stage_refs(out_dir, plan)?;
        // See README, "Reproducibility": the students' numbers follow the CPU's kernels.
        let run_json = json!({
            "command": std::env::args().collect::<Vec<_>>(),
            "config": cfg.name,
            "provenance": crate::store::Provenance::here(self.spec.device),
        });
        kd_core::io::atomic_write_bytes(
            &out_dir.join("run.json"),
            &serde_json::to_vec_pretty(&run_json)?,
        )?;
        Ok(())
    }
}

fn history_rows(
    task: reports::schema::Task,
    config: &str,
    model: &ModelName,
    seed: u64,
    summary: &TrainSummary,
) -> Vec<HistoryRow> {
    summary
        .history
        .iter()
        .map(|e| HistoryRow {
            task,
            model: model.clone(),
            epoch: e.epoch,
            train_loss: e.train_loss,
            dev_accuracy: 100.0 * e.dev_accuracy,
            seconds: e.seconds,
            seed,
            config: config.into(),
        })
        .collect()
}

/// One `variants.csv` row per variant (its first seed's plan describes them all).
fn variant_rows(
    cfg: &ExperimentConfig,
    plan: &Plan,
    transfer_sizes: &[usize],
    data: &TaskData,
) -> Vec<VariantRow> {
    let baseline = cfg.students.baseline_name();
    let mut rows: Vec<VariantRow> = Vec::new();
    for sp in &plan.students {
        let r = &sp.run;
        if rows.iter().any(|v| v.model == r.variant) {
            continue;
        }
        use reports::schema::{Objective as O, SoftKind as S};
        let (objective, alpha, soft, temperature) = match r.train.objective {
            Objective::Hard => (O::Hard, 1.0, S::None, 1.0),
            Objective::Distill(loss) => {
                let (soft, t) = match loss.soft {
                    SoftLoss::Mse => (S::Mse, 1.0),
                    SoftLoss::MseElementwise => (S::MseElementwise, 1.0),
                    SoftLoss::SoftCe { t } => (S::SoftCe, t),
                    SoftLoss::Kl { t } => (S::Kl, t),
                };
                (O::Distill, loss.alpha, soft, t)
            }
        };
        rows.push(VariantRow {
            task: cfg.task,
            config: cfg.name.clone(),
            model: r.variant.clone(),
            baseline: r.variant.as_str() == baseline,
            data: r.data,
            targets: r.targets,
            objective,
            alpha,
            soft,
            temperature,
            n_iter: r.augment.as_ref().map_or(0, |a| a.n_iter),
            transfer_size: match sp.transfer {
                Some(i) if r.data == DataSource::Transfer => transfer_sizes[i],
                _ => data.train.len(),
            },
            description: r.description.clone(),
            teacher: r.teacher.clone(),
        });
    }
    rows
}

/// The fine-tuning seed of teacher `t` (an epoch checkpoint's: its parent's; else 0).
fn teacher_seed(teachers: &[TeacherPlan], t: usize) -> u64 {
    match &teachers[t].spec.source {
        TeacherSource::FineTune(f) => f.seed,
        TeacherSource::Epoch { of, .. } => teacher_seed(teachers, *of),
        _ => 0,
    }
}

/// One `teachers.csv` row per teacher: how it was made, and its fine-tune's record.
fn teacher_rows(
    cfg: &ExperimentConfig,
    plan: &Plan,
    summaries: &[Option<TrainSummary>],
) -> Vec<TeacherRow> {
    let name = |t: usize| plan.teachers[t].spec.name.to_string();
    plan.teachers
        .iter()
        .enumerate()
        .map(|(t, tp)| {
            let fine_tune = match &tp.spec.source {
                TeacherSource::FineTune(f) => Some(f),
                TeacherSource::Epoch { of, .. } => match &plan.teachers[*of].spec.source {
                    TeacherSource::FineTune(f) => Some(f),
                    _ => None,
                },
                _ => None,
            };
            let (kind, source, epochs) = match &tp.spec.source {
                TeacherSource::FineTune(f) => ("fine_tune", String::new(), Some(f.epochs)),
                TeacherSource::Epoch { of, epoch } => ("epoch", name(*of), Some(*epoch)),
                TeacherSource::Ensemble(m) => (
                    "ensemble",
                    m.iter().map(|&i| name(i)).collect::<Vec<_>>().join("+"),
                    None,
                ),
                TeacherSource::Dir(p) => ("dir", p.display().to_string(), None),
            };
            let summary = summaries[t].as_ref();
            // A fine-tune's own wall time and rate; an epoch checkpoint's are its parent's.
            let trained = matches!(tp.spec.source, TeacherSource::FineTune(_));
            let seconds = summary.filter(|_| trained).map(TrainSummary::wall_seconds);
            let rate = summary.filter(|_| trained).and_then(|s| {
                let secs: f64 = s.history.iter().map(|e| e.seconds).sum();
                (secs > 0.0).then(|| (s.train_examples * s.history.len()) as f64 / secs)
            });
            TeacherRow {
                task: cfg.task,
                config: cfg.name.clone(),
                model: tp.spec.name.clone(),
                kind: kind.into(),
                lr: fine_tune.map(|f| f.lr),
                epochs,
                warmup_ratio: fine_tune.map(|f| f.warmup_ratio),
                weight_decay: fine_tune.map(|f| f.weight_decay),
                max_len: fine_tune.map(|f| f.max_len),
                pooling: fine_tune.map(|f| f.pooling.as_str().to_string()),
                seed: fine_tune.map(|f| f.seed),
                source,
                best_epoch: summary.map(|s| s.best_epoch),
                seconds,
                examples_per_sec: rate,
                description: tp.spec.description.clone(),
            }
        })
        .collect()
}

fn write_stage_refs(out_dir: &Path, plan: &Plan) -> Result<()> {
    fn stage(s: &Stage, model: Option<String>, seed: Option<u64>) -> StageRef<'_> {
        StageRef {
            stage: &s.name,
            key: &s.key,
            dir: &s.dir,
            model,
            seed,
        }
    }
    let mut refs = Vec::new();
    for t in &plan.teachers {
        let name = Some(t.spec.name.to_string());
        if let (true, Some(s)) = (t.is_fine_tune(), &t.stage) {
            refs.push(stage(s, name.clone(), None));
        }
        refs.push(stage(&t.predictions, name, None));
    }
    for t in &plan.transfers {
        refs.push(stage(&t.transfer, None, None));
    }
    for l in &plan.labels {
        let name = plan.teachers[l.teacher].spec.name.to_string();
        refs.push(stage(&l.stage, Some(name), None));
    }
    for sp in &plan.students {
        refs.push(stage(
            &sp.stage,
            Some(sp.run.variant.to_string()),
            Some(sp.run.seed),
        ));
    }
    kd_core::io::atomic_write_bytes(
        &out_dir.join("stages.json"),
        &serde_json::to_vec_pretty(&refs)?,
    )?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::layered::{self, Source};
    use crate::config::Overrides;
    use crate::data::Split;
    use kd_core::data::SplitFile;
    use serde_yaml::Value;

    /// A config whose input files are small files in `dir`, and data with the given digests
    /// (shared with the cells' tests).
    pub(super) struct Inputs {
        dir: tempfile::TempDir,
    }

    impl Inputs {
        pub(super) fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let t = dir.path().join("teacher");
            std::fs::create_dir_all(&t).unwrap();
            for f in ["model.safetensors", "config.json", "tokenizer.json"] {
                std::fs::write(t.join(f), f).unwrap();
            }
            std::fs::write(dir.path().join("pos.json"), "pos").unwrap();
            std::fs::write(dir.path().join("vectors.txt"), "the 0.1").unwrap();
            Self { dir }
        }

        pub(super) fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn config(&self, extra: &str) -> ExperimentConfig {
            self.config_of("sst2.yaml", &Overrides::default(), extra)
        }

        /// The embedded config `name` (`sst2.yaml`, ...) over these inputs, `extra` YAML merged
        /// last.
        pub(super) fn config_of(
            &self,
            name: &'static str,
            overrides: &Overrides,
            extra: &str,
        ) -> ExperimentConfig {
            let base = layered::load(&Source::Embedded(name)).unwrap();
            let paths = format!(
                "paths: {{teacher_init: {}, pos_model: {}}}\n\
                 students: {{model: {{embedding: {{vectors: {}}}}}}}\n",
                self.path("teacher").display(),
                self.path("pos.json").display(),
                self.path("vectors.txt").display()
            );
            let mut value = layered::merge(base, serde_yaml::from_str::<Value>(&paths).unwrap());
            if !extra.is_empty() {
                value = layered::merge(value, serde_yaml::from_str::<Value>(extra).unwrap());
            }
            ExperimentConfig::from_value(value, overrides).unwrap()
        }
    }

    /// Data with no examples whose train and dev digests are `train` and `dev`.
    pub(super) fn data(train: &str, dev: &str) -> TaskData {
        let file = SplitFile {
            name: "dev".into(),
            path: PathBuf::from("dev.tsv"),
            labelled: true,
        };
        TaskData {
            train: Vec::new(),
            train_digest: train.into(),
            dev: vec![Split {
                file,
                examples: Vec::new(),
                digest: dev.into(),
            }],
            test: Vec::new(),
        }
    }

    /// (teacher, transfer, labels, bilstm, bilstm_soft) keys.
    fn keys(cfg: &ExperimentConfig, data: &TaskData, store: &Store) -> [String; 5] {
        let p = Plan::new(cfg, data, store).unwrap();
        assert_eq!(p.transfers.len(), 1);
        assert_eq!(p.students.len(), 2);
        [
            p.teacher_stage(0).unwrap().key.clone(),
            p.transfers[0].transfer.key.clone(),
            p.labels[0].stage.key.clone(),
            p.students[0].stage.key.clone(),
            p.students[1].stage.key.clone(),
        ]
    }

    /// Which of the five stages changed between `a` and `b`.
    fn changed(a: &[String; 5], b: &[String; 5]) -> [bool; 5] {
        std::array::from_fn(|i| a[i] != b[i])
    }

    /// The default config's keys are those the code computed before teachers were data: the
    /// same JSON of the same inputs (re-derived here by hand), so existing stores stay valid.
    #[test]
    fn the_default_config_keeps_its_stage_keys() {
        let inputs = Inputs::new();
        let store = Store::open(&inputs.path("store")).unwrap();
        let d = data("train1", "dev1");
        let cfg = inputs.config("");
        let p = Plan::new(&cfg, &d, &store).unwrap();
        assert_eq!(p.teachers.len(), 1);
        let mut fine_tune = cfg.teacher.fine_tune.clone();
        fine_tune.eval_batch_size = 0;
        let init = files_digest(
            &inputs.path("teacher"),
            &["model.safetensors", "config.json", "tokenizer.json"],
        )
        .unwrap();
        let teacher = store
            .stage(
                "teacher",
                stages::TEACHER_VERSION,
                &json!({
                    "train": "train1", "max_train": null, "dev": "dev1", "max_dev": null,
                    "checkpoint": init, "fine_tune": fine_tune,
                }),
            )
            .unwrap();
        assert_eq!(p.teacher_stage(0).unwrap().key, teacher.key);
        // The pooling setting is not in a [CLS] teacher's key.
        assert!(!serde_json::to_string(&fine_tune)
            .unwrap()
            .contains("pooling"));
        let labels = store
            .stage(
                "labels",
                stages::LABELS_VERSION,
                &json!({ "teacher": teacher.key, "transfer": p.transfers[0].transfer.key }),
            )
            .unwrap();
        assert_eq!(p.labels[0].stage.key, labels.key);
        assert_eq!(p.students[1].labels, Some(0));
        // A teacher variant with the default's settings is the default's stage.
        let same = inputs.config("teachers: {teacher_same: {}}");
        let q = Plan::new(&same, &d, &store).unwrap();
        assert_eq!(q.teacher_stage(1).unwrap().key, teacher.key);
    }

    #[test]
    fn students_read_their_own_teacher_s_labels_and_ensembles_follow_their_members() {
        let inputs = Inputs::new();
        let store = Store::open(&inputs.path("store")).unwrap();
        let d = data("train1", "dev1");
        let cfg = inputs.config(
            "teachers:\n  teacher_m: {fine_tune: {pooling: mean, lr: 3.0e-5}}\n  \
             teacher_e1: {of: teacher_m, epoch: 1}\n  teacher_ens: {ensemble: [teacher, teacher_m]}\n\
             students:\n  variants:\n    bilstm_soft: {teacher: teacher_ens}\n    \
             kd_m: {data: train, targets: teacher_logits, teacher: teacher_e1, objective: {kind: distill, alpha: 0.0}}\n",
        );
        let p = Plan::new(&cfg, &d, &store).unwrap();
        let names: Vec<&str> = p.teachers.iter().map(|t| t.spec.name.as_str()).collect();
        assert_eq!(names, ["teacher", "teacher_m", "teacher_e1", "teacher_ens"]);
        // The mean-pooled teacher is its own stage; its epoch checkpoint reads it.
        let (t0, tm) = (p.teacher_stage(0).unwrap(), p.teacher_stage(1).unwrap());
        assert_ne!(t0.key, tm.key);
        assert_eq!(p.teacher_stage(2).unwrap().key, tm.key);
        assert!(p.teacher_stage(3).is_none());
        // Labelled sets of set 0: the ensemble's members (teacher, teacher_m) before it, and the
        // epoch checkpoint's for kd_m; each its own key.
        let by: Vec<(usize, usize)> = p.labels.iter().map(|l| (l.set, l.teacher)).collect();
        assert_eq!(by, [(0, 0), (0, 1), (0, 2), (0, 3)]);
        let keys: std::collections::BTreeSet<&str> =
            p.labels.iter().map(|l| l.stage.key.as_str()).collect();
        assert_eq!(keys.len(), 4);
        let student = |name: &str| {
            p.students
                .iter()
                .find(|s| s.run.variant.as_str() == name)
                .unwrap()
        };
        assert_eq!(student("bilstm_soft").labels, Some(3));
        assert_eq!(student("kd_m").labels, Some(2));
        assert_eq!(student("bilstm").labels, None);
        assert_eq!(student("bilstm").teacher, 0);
        // The gold baseline's key does not depend on the teachers; the default run's
        // bilstm_soft (from `teacher`) differs from this one (from the ensemble).
        let base = Plan::new(&inputs.config(""), &d, &store).unwrap();
        assert_eq!(base.students[0].stage.key, student("bilstm").stage.key);
        assert_ne!(base.students[1].stage.key, student("bilstm_soft").stage.key);
        // Predictions: every teacher has its own stage, the ensemble's keyed by its members'.
        let preds: std::collections::BTreeSet<&str> = p
            .teachers
            .iter()
            .map(|t| t.predictions.key.as_str())
            .collect();
        assert_eq!(preds.len(), 4);
    }

    #[test]
    fn each_input_invalidates_exactly_the_stages_downstream_of_it() {
        let inputs = Inputs::new();
        let store = Store::open(&inputs.path("store")).unwrap();
        let d = data("train1", "dev1");
        let base = keys(&inputs.config(""), &d, &store);
        let cfg = inputs.config("");
        let after = |edit: &dyn Fn()| {
            edit();
            keys(&cfg, &d, &store)
        };
        // [teacher, transfer, labels, bilstm, bilstm_soft]
        const ALL: [bool; 5] = [true; 5];
        for f in ["model.safetensors", "config.json", "tokenizer.json"] {
            let p = inputs.path("teacher").join(f);
            let k = after(&|| std::fs::write(&p, "changed").unwrap());
            assert_eq!(changed(&base, &k), [true, false, true, false, true], "{f}");
            std::fs::write(&p, f).unwrap();
        }
        // Bytes beside the checkpoint that it is not loaded from do not count.
        let k = after(&|| std::fs::write(inputs.path("teacher").join("README.md"), "x").unwrap());
        assert_eq!(
            changed(&base, &k),
            [false; 5],
            "README beside the checkpoint"
        );
        let pos = inputs.path("pos.json");
        let k = after(&|| std::fs::write(&pos, "other tagger").unwrap());
        assert_eq!(
            changed(&base, &k),
            [false, true, true, false, true],
            "POS model"
        );
        std::fs::write(&pos, "pos").unwrap();
        let vec = inputs.path("vectors.txt");
        let k = after(&|| std::fs::write(&vec, "the 0.2").unwrap());
        assert_eq!(
            changed(&base, &k),
            [false, false, false, true, true],
            "vectors"
        );
        std::fs::write(&vec, "the 0.1").unwrap();
        assert_eq!(
            keys(&cfg, &d, &store),
            base,
            "restored inputs give the same keys"
        );

        let k = keys(&cfg, &data("train2", "dev1"), &store);
        assert_eq!(changed(&base, &k), ALL, "training file");
        let k = keys(&cfg, &data("train1", "dev2"), &store);
        assert_eq!(
            changed(&base, &k),
            [true, false, true, true, true],
            "dev file"
        );
        // Computing keys creates nothing in the store.
        assert_eq!(std::fs::read_dir(&store.root).unwrap().count(), 0);
    }

    #[test]
    fn each_setting_invalidates_exactly_its_stages_and_the_others_none() {
        let inputs = Inputs::new();
        let store = Store::open(&inputs.path("store")).unwrap();
        let d = data("train1", "dev1");
        let base = keys(&inputs.config(""), &d, &store);
        // [teacher, transfer, labels, bilstm, bilstm_soft]; the settings that cannot change
        // results (batch sizes for evaluation, progress, threads) change none.
        let cases: [(&str, [bool; 5]); 8] = [
            (
                "teacher: {fine_tune: {lr: 3.0e-5}}",
                [true, false, true, false, true],
            ),
            ("augment: {n_iter: 3}", [false, true, true, false, true]),
            ("seed: 5", [true, true, true, true, true]),
            (
                "students: {variants: {bilstm: {train: {epochs: 3}}}}",
                [false, false, false, true, false],
            ),
            (
                "students: {model: {hidden_dim: 64}}",
                [false, false, false, true, true],
            ),
            ("threads: 1", [false; 5]),
            (
                "students: {train: {eval_batch_size: 7, progress: false}}",
                [false; 5],
            ),
            (
                "teacher: {label_batch_size: 8, fine_tune: {eval_batch_size: 9}}",
                [false; 5],
            ),
        ];
        for (yaml, want) in cases {
            let k = keys(&inputs.config(yaml), &d, &store);
            assert_eq!(changed(&base, &k), want, "{yaml}");
        }
        // Computing keys creates nothing in the store.
        assert_eq!(std::fs::read_dir(&store.root).unwrap().count(), 0);
    }
}
