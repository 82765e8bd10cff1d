//! The run as **cells**: its independent units of work, numbered from 0, each runnable alone
//! (`--cell K`) by any process that shares the store — a Slurm array task, a Kubernetes Indexed
//! Job pod, a local worker (`scripts/local-array.sh`). In order:
//!
//! 1. `teacher`: fine-tune the teacher;
//! 2. `transfer`: one cell per transfer set (they need nothing: the augmentation reads only the
//!    training data and the POS model);
//! 3. `labels`: `teacher.label_shards` cells per transfer set (default 1; `--label-shards N`).
//!    The number of chunks is only known once the transfer set exists, so a labelling cell is not
//!    one chunk: each claims whichever chunks no other live worker holds (a per-chunk lock file)
//!    until none is free, and the last to finish joins them into the stage
//!    ([`crate::stages::labels`]). N cells label one set N ways at once; the cell count follows
//!    from the config alone, so `--list-cells` works before anything has run;
//! 4. `student`: one cell per variant × seed;
//! 5. `evaluate`: the last cell; it writes the run's result files into the out dir exactly as a
//!    serial run does.
//!
//! Every cell depends only on cells listed before it (a labelling cell on the teacher and its
//! transfer set; a student on its labelled set, or on nothing for a gold-label variant on the
//! training set; the evaluation on every stage), so workers that each take cells in increasing
//! order (array task i: cells i, i+N, ...) never deadlock. Before it runs, a cell checks that its
//! stages are finished in the store (`done.json`): with `--wait` it polls until they are, else it
//! fails with one line naming the missing stage; either way it fails at once, naming the failed
//! cell, when the stage holds a failed cell's marker (`failed.json`, [`crate::store::mark_failed`]).
//! A labelled set whose chunks are all there but not joined (its last worker died after its
//! chunk) is joined by the cell that needs it.
//!
//! The serial run ([`super::run`]) is every cell in order in one process, through the same
//! bodies: one teacher load, each labelled set read once, and the labelling cell's worker
//! waiting for chunks other processes hold instead of leaving them.

use super::{Plan, Run};
use crate::config::{DataSource, ExperimentConfig, TeacherSource};
use crate::logln;
use crate::models::student_examples;
use crate::stages::labels::{Held, Labelled, Labeller};
use crate::stages::student::Sources;
use crate::stages::{self, TrainSummary, TransferSummary};
use crate::store::Stage;
use anyhow::{bail, Context, Result};
use bert_teacher::Teacher;
use bilstm_student::StudentExample;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What a cell does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Fine-tune teacher `teacher` (an index into [`Plan::teachers`]).
    Teacher {
        /// The teacher.
        teacher: usize,
    },
    /// Build transfer set `set` (an index into [`Plan::transfers`]).
    Transfer {
        /// The set.
        set: usize,
    },
    /// One labelling worker of labelled set `labels` (an index into [`Plan::labels`]); an
    /// ensemble's set has one cell, which averages its members' sets.
    Labels {
        /// The labelled set.
        labels: usize,
        /// This worker's number, from 0.
        shard: usize,
        /// Workers per set (`teacher.label_shards`).
        shards: usize,
    },
    /// Train student `index` (an index into [`Plan::students`]).
    Student {
        /// The student run.
        index: usize,
    },
    /// Evaluate every model and write the run's result files.
    Evaluate,
}

impl CellKind {
    /// The short kind: `teacher`, `transfer`, `labels`, `student` or `evaluate`.
    pub fn label(&self) -> &'static str {
        match self {
            CellKind::Teacher { .. } => "teacher",
            CellKind::Transfer { .. } => "transfer",
            CellKind::Labels { .. } => "labels",
            CellKind::Student { .. } => "student",
            CellKind::Evaluate => "evaluate",
        }
    }
}

/// One cell of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// What it does.
    pub kind: CellKind,
    /// Which one, e.g. `set 0 (n_iter 6)`, `set 0, shard 2/4`, `bilstm_soft seed 0`.
    pub name: String,
    /// The stage dir it fills (the out dir for the evaluation).
    pub dir: PathBuf,
}

impl Cell {
    /// The `--list-cells` line: `index<TAB>kind<TAB>name<TAB>dir`.
    pub fn line(&self, index: usize) -> String {
        format!(
            "{index}\t{}\t{}\t{}",
            self.kind.label(),
            self.name,
            self.dir.display()
        )
    }
}

/// The cells of `plan`, in the order they run (see the module docs). Their number follows from
/// the config alone, whatever the store holds.
pub fn cells(plan: &Plan, cfg: &ExperimentConfig, out_dir: &Path) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (teacher, t) in plan.teachers.iter().enumerate() {
        if let (true, Some(stage)) = (t.is_fine_tune(), &t.stage) {
            cells.push(Cell {
                kind: CellKind::Teacher { teacher },
                name: t.spec.name.to_string(),
                dir: stage.dir.clone(),
            });
        }
    }
    for (set, t) in plan.transfers.iter().enumerate() {
        cells.push(Cell {
            kind: CellKind::Transfer { set },
            name: format!("set {set} (n_iter {})", t.augment.n_iter),
            dir: t.transfer.dir.clone(),
        });
    }
    // One teacher (every config before teachers were data): the names they always had.
    let by = |t: usize| {
        if plan.teachers.len() == 1 {
            String::new()
        } else {
            format!(" by {}", plan.teachers[t].spec.name)
        }
    };
    for (labels, l) in plan.labels.iter().enumerate() {
        let ensemble = matches!(
            plan.teachers[l.teacher].spec.source,
            TeacherSource::Ensemble(_)
        );
        let shards = if ensemble {
            1
        } else {
            cfg.teacher.label_shards.max(1)
        };
        for shard in 0..shards {
            cells.push(Cell {
                kind: CellKind::Labels {
                    labels,
                    shard,
                    shards,
                },
                name: format!(
                    "set {}{}, shard {}/{shards}",
                    l.set,
                    by(l.teacher),
                    shard + 1
                ),
                dir: l.stage.dir.clone(),
            });
        }
    }
    for (index, sp) in plan.students.iter().enumerate() {
        cells.push(Cell {
            kind: CellKind::Student { index },
            name: format!("{} seed {}", sp.run.variant, sp.run.seed),
            dir: sp.stage.dir.clone(),
        });
    }
    cells.push(Cell {
        kind: CellKind::Evaluate,
        name: cfg.name.clone(),
        dir: out_dir.to_path_buf(),
    });
    cells
}

/// A stage a cell needs finished before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The fine-tune stage of teacher `t` (an epoch checkpoint's: its parent's).
    Teacher(usize),
    Transfer(usize),
    Labels(usize),
    Student(usize),
}

/// A need that is not met: the stage, what it is, and the cells that produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The stage's dir.
    pub dir: PathBuf,
    /// e.g. `labels of transfer set 0`.
    pub what: String,
    /// The cells that build it.
    pub cells: Vec<usize>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cells = match self.cells.as_slice() {
            [one] => format!("cell {one}"),
            [first, .., last] if last - first + 1 == self.cells.len() => {
                format!("cells {first}-{last}")
            }
            many => format!(
                "cells {}",
                many.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        write!(
            f,
            "{} ({}, built by {cells})",
            self.dir.display(),
            self.what
        )
    }
}

/// The error of a cell that gave up because a cell it depends on failed (that cell's marker is in
/// the store). The task binaries exit with status 3 on it, so that a scheduler can tell it from a
/// failure of the cell's own (Kubernetes: a pod failure policy that retries such a pod without
/// counting it against the cell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFailed(pub String);

impl std::fmt::Display for UpstreamFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UpstreamFailed {}

/// Runs cells of one run in this process, keeping what one cell loads (the teacher, the
/// labelled sets, the stages' summaries) for the next.
pub struct Exec<'a> {
    run: &'a Run<'a>,
    plan: &'a Plan,
    /// The run's cells.
    pub cells: Vec<Cell>,
    serial: bool,
    teachers: RefCell<Vec<Option<Rc<Teacher>>>>,
    teacher_summaries: Vec<Option<TrainSummary>>,
    transfer_sizes: Vec<Option<usize>>,
    labelled: Vec<Option<Labelled>>,
    students: Vec<Option<TrainSummary>>,
    dev: Option<Vec<StudentExample>>,
}

impl<'a> Exec<'a> {
    /// The cells of `plan`; `serial`: all of them, in order, in this process ([`Exec::run_all`]).
    pub(super) fn new(run: &'a Run<'a>, plan: &'a Plan, serial: bool) -> Self {
        Self {
            run,
            plan,
            cells: cells(plan, &run.spec.cfg, &run.spec.out_dir),
            serial,
            teachers: RefCell::new(vec![None; plan.teachers.len()]),
            teacher_summaries: vec![None; plan.teachers.len()],
            transfer_sizes: vec![None; plan.transfers.len()],
            labelled: (0..plan.labels.len()).map(|_| None).collect(),
            students: vec![None; plan.students.len()],
            dev: None,
        }
    }

    /// Every cell in order (the serial run). A set's labelling is done by its first labelling
    /// cell, which waits for chunks other processes hold; its other cells have nothing left.
    pub fn run_all(&mut self) -> Result<()> {
        for k in 0..self.cells.len() {
            if matches!(self.cells[k].kind, CellKind::Labels { shard, .. } if shard > 0) {
                continue;
            }
            self.run_cell(k)?;
        }
        Ok(())
    }

    fn labeller(&self, labels: usize) -> Labeller<'_> {
        let cfg = &self.run.spec.cfg;
        let l = &self.plan.labels[labels];
        Labeller {
            stage: &l.stage,
            transfer: &self.plan.transfers[l.set].transfer,
            batch_size: cfg.teacher.label_batch_size,
            chunk_size: cfg.teacher.label_chunk_size,
            classes: cfg.task.num_classes(),
            device: self.run.spec.device,
            log: &self.run.log,
        }
    }

    /// Teacher `t` (a fine-tune, an epoch checkpoint or a directory), loaded on first use.
    pub(super) fn teacher(&self, t: usize) -> Result<Rc<Teacher>> {
        if let Some(model) = self.teachers.borrow()[t].as_ref() {
            return Ok(model.clone());
        }
        let plan = &self.plan.teachers[t];
        let device = self.run.spec.device;
        let loaded = match (&plan.spec.source, &plan.stage, &plan.dir) {
            (TeacherSource::Epoch { epoch, .. }, Some(stage), _) => {
                Teacher::load_at_epoch(&stage.dir, *epoch, device)
            }
            (TeacherSource::FineTune(_), Some(stage), _) => Teacher::load(&stage.dir, device),
            (TeacherSource::Dir(_), _, Some(dir)) => Teacher::load(dir, device),
            _ => bail!(
                "{}: an ensemble has no model of its own (its logits are its members' mean)",
                plan.spec.name
            ),
        };
        let model = Rc::new(loaded.with_context(|| format!("loading {}", plan.spec.name))?);
        self.teachers.borrow_mut()[t] = Some(model.clone());
        Ok(model)
    }

    /// The fine-tune stages teacher `t`'s logits come from: its own or its parent's; for an
    /// ensemble, its members'; none for a directory.
    fn teacher_needs(&self, t: usize) -> Vec<Need> {
        let plan = &self.plan.teachers[t];
        match &plan.spec.source {
            TeacherSource::FineTune(_) => vec![Need::Teacher(t)],
            TeacherSource::Epoch { of, .. } => vec![Need::Teacher(*of)],
            TeacherSource::Dir(_) => Vec::new(),
            TeacherSource::Ensemble(members) => members
                .iter()
                .flat_map(|&m| self.teacher_needs(m))
                .collect(),
        }
    }

    /// The stages cell `k` reads.
    fn needs(&self, k: usize) -> Vec<Need> {
        match self.cells[k].kind {
            CellKind::Teacher { .. } | CellKind::Transfer { .. } => Vec::new(),
            CellKind::Labels { labels, .. } => {
                let l = &self.plan.labels[labels];
                match &self.plan.teachers[l.teacher].spec.source {
                    TeacherSource::Ensemble(members) => members
                        .iter()
                        .filter_map(|&m| self.labels_index(m, l.set))
                        .map(Need::Labels)
                        .collect(),
                    _ => {
                        let mut needs = self.teacher_needs(l.teacher);
                        needs.push(Need::Transfer(l.set));
                        needs
                    }
                }
            }
            CellKind::Student { index } => self.plan.students[index]
                .labels
                .map(Need::Labels)
                .into_iter()
                .collect(),
            CellKind::Evaluate => (0..self.plan.teachers.len())
                .flat_map(|t| self.teacher_needs(t))
                .chain((0..self.plan.transfers.len()).map(Need::Transfer))
                .chain((0..self.plan.labels.len()).map(Need::Labels))
                .chain((0..self.plan.students.len()).map(Need::Student))
                .collect(),
        }
    }

    /// Index into [`Plan::labels`] of teacher `t`'s set `set`.
    fn labels_index(&self, t: usize, set: usize) -> Option<usize> {
        self.plan
            .labels
            .iter()
            .position(|l| l.teacher == t && l.set == set)
    }

    /// The first need of cell `k` that the store does not meet. A labelled set whose chunks
    /// are all there is joined on the way.
    pub fn missing(&self, k: usize) -> Result<Option<Missing>> {
        let cells_of = |f: &dyn Fn(&CellKind) -> bool| -> Vec<usize> {
            (0..self.cells.len())
                .filter(|&i| f(&self.cells[i].kind))
                .collect()
        };
        for need in self.needs(k) {
            let (stage, what, cells): (&Stage, String, Vec<usize>) = match need {
                Need::Teacher(t) => (
                    self.plan
                        .teacher_stage(t)
                        .context("a teacher without a fine-tune stage")?,
                    if self.plan.teachers.len() == 1 {
                        "the teacher".into()
                    } else {
                        format!("the teacher {}", self.plan.teachers[t].spec.name)
                    },
                    cells_of(&|c| *c == CellKind::Teacher { teacher: t }),
                ),
                Need::Transfer(s) => (
                    &self.plan.transfers[s].transfer,
                    format!("transfer set {s}"),
                    cells_of(&|c| *c == CellKind::Transfer { set: s }),
                ),
                Need::Labels(i) => (
                    &self.plan.labels[i].stage,
                    format!(
                        "labels of transfer set {}{}",
                        self.plan.labels[i].set,
                        if self.plan.teachers.len() == 1 {
                            String::new()
                        } else {
                            format!(
                                " by {}",
                                self.plan.teachers[self.plan.labels[i].teacher].spec.name
                            )
                        }
                    ),
                    cells_of(&|c| matches!(c, CellKind::Labels { labels, .. } if *labels == i)),
                ),
                Need::Student(i) => {
                    let r = &self.plan.students[i].run;
                    (
                        &self.plan.students[i].stage,
                        format!("student {} seed {}", r.variant, r.seed),
                        cells_of(&|c| *c == CellKind::Student { index: i }),
                    )
                }
            };
            if stage.is_done() {
                continue;
            }
            if let Need::Labels(i) = need {
                let ensemble = matches!(
                    self.plan.teachers[self.plan.labels[i].teacher].spec.source,
                    TeacherSource::Ensemble(_)
                );
                if !ensemble && self.labeller(i).join_if_complete()?.is_some() {
                    continue;
                }
            }
            return Ok(Some(Missing {
                dir: stage.dir.clone(),
                what,
                cells,
            }));
        }
        Ok(None)
    }

    /// Returns once every stage cell `k` needs is finished: at once (an error naming the first
    /// missing stage) without `wait`, else polling the store for up to `wait`. A missing stage
    /// that holds a failed cell's marker is an error at once, in both modes.
    pub fn await_needs(&self, k: usize, wait: Option<Duration>) -> Result<()> {
        let cell = &self.cells[k];
        let who = format!("cell {k} ({} {})", cell.kind.label(), cell.name);
        let failed = |m: &Missing| -> Result<()> {
            match crate::store::failure_in(&m.dir)? {
                None => Ok(()),
                Some(f) => Err(UpstreamFailed(format!(
                    "{who} needs {m}, but {} failed ({}: {}); rerun it (its {} says so)",
                    f.cell,
                    f.owner,
                    f.error,
                    crate::store::FAILED_FILE
                ))
                .into()),
            }
        };
        let Some(limit) = wait else {
            return match self.missing(k)? {
                None => Ok(()),
                Some(m) => {
                    failed(&m)?;
                    bail!(
                        "{who} needs {m}, which is not finished: run it first, or pass --wait \
                         [SECS] to wait for it"
                    )
                }
            };
        };
        let t = Instant::now();
        let mut pause = Duration::from_millis(200);
        let mut waiting_for: Option<PathBuf> = None;
        while let Some(m) = self.missing(k)? {
            failed(&m)?;
            if t.elapsed() >= limit {
                bail!(
                    "{who}: timed out after {} s waiting for {m}",
                    limit.as_secs()
                );
            }
            if waiting_for.as_ref() != Some(&m.dir) {
                logln!(
                    self.run.log,
                    "waiting for {m}; polling the store for up to {} s in all",
                    limit.as_secs()
                );
                waiting_for = Some(m.dir.clone());
            }
            kd_core::stop::sleep(pause.min(limit.saturating_sub(t.elapsed())))?;
            pause = (pause * 3 / 2).min(Duration::from_secs(5));
        }
        if waiting_for.is_some() {
            logln!(
                self.run.log,
                "dependencies finished after {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Runs cell `k` (its needs met).
    pub fn run_cell(&mut self, k: usize) -> Result<()> {
        let run = self.run;
        let (cfg, device, log) = (&run.spec.cfg, run.spec.device, &run.log);
        match self.cells[k].kind {
            CellKind::Teacher { teacher } => {
                let t = &self.plan.teachers[teacher];
                let (TeacherSource::FineTune(fine_tune), Some(stage)) = (&t.spec.source, &t.stage)
                else {
                    bail!("{}: not a fine-tuned teacher", t.spec.name);
                };
                let who = stages::teacher::Who {
                    name: t.spec.name.as_str(),
                    init: &cfg.paths.teacher_init,
                    fine_tune,
                    classes: cfg.task.num_classes(),
                };
                let s = stages::teacher::run(stage, &who, &run.data, device, log)?;
                self.teacher_summaries[teacher] = Some(s);
            }
            CellKind::Transfer { set } => {
                let t = &self.plan.transfers[set];
                let s = stages::transfer::run(
                    &t.transfer,
                    &t.augment,
                    &cfg.paths.pos_model,
                    &run.data,
                    device,
                    log,
                )?;
                self.transfer_sizes[set] = Some(s.total);
            }
            CellKind::Labels { labels, .. } => {
                let l = &self.plan.labels[labels];
                if let TeacherSource::Ensemble(members) = &self.plan.teachers[l.teacher].spec.source
                {
                    let stages: Vec<&Stage> = members
                        .iter()
                        .filter_map(|&m| self.labels_index(m, l.set))
                        .map(|i| &self.plan.labels[i].stage)
                        .collect();
                    let classes = cfg.task.num_classes();
                    stages::labels::average(&l.stage, &stages, classes, device, log)?;
                } else {
                    let labeller = self.labeller(labels);
                    let teacher = || self.teacher(l.teacher);
                    if self.serial {
                        stages::labels::run(&labeller, &teacher)?;
                    } else {
                        labeller.run(&teacher, Held::Skip)?;
                    }
                }
            }
            CellKind::Student { index } => {
                let s = self.student(index)?;
                self.students[index] = Some(s);
            }
            CellKind::Evaluate => self.evaluate()?,
        }
        Ok(())
    }

    /// Reads labelled set `labels` once.
    fn load_labelled(&mut self, labels: usize) -> Result<()> {
        if self.labelled[labels].is_none() {
            let classes = self.run.spec.cfg.task.num_classes();
            self.labelled[labels] = Some(stages::labels::read(
                &self.plan.labels[labels].stage,
                classes,
            )?);
        }
        Ok(())
    }

    fn student(&mut self, index: usize) -> Result<TrainSummary> {
        if let Some(labels) = self.plan.students[index].labels {
            self.load_labelled(labels)?;
        }
        if self.dev.is_none() {
            self.dev = Some(student_examples(&self.run.data.selection_dev().examples));
        }
        let (run, plan) = (self.run, self.plan);
        let sp = &plan.students[index];
        let labelled = sp.labels.and_then(|l| self.labelled[l].as_ref());
        let sources = Sources {
            train: &run.data.train,
            transfer: labelled.filter(|_| sp.run.data == DataSource::Transfer),
            base: labelled.filter(|_| sp.run.data == DataSource::Train),
        };
        let train = stages::student::training_examples(&sp.run, &sources)?;
        logln!(
            run.log,
            "student {}/{}: {} seed {}",
            index + 1,
            plan.students.len(),
            sp.run.variant,
            sp.run.seed
        );
        stages::student::run(
            &sp.stage,
            &sp.run,
            &train,
            self.dev.as_deref().unwrap_or_default(),
            run.spec.device,
            &run.log,
        )
    }

    /// The evaluation: the summaries this process computed, the others from the store.
    fn evaluate(&self) -> Result<()> {
        let plan = self.plan;
        fn done<T: serde::de::DeserializeOwned>(stage: &Stage, cached: Option<T>) -> Result<T> {
            match cached {
                Some(s) => Ok(s),
                None => stage.done::<T>()?.with_context(|| {
                    format!("{} is not finished (no done.json)", stage.dir.display())
                }),
            }
        }
        let mut teachers: Vec<Option<TrainSummary>> = Vec::new();
        for (t, tp) in plan.teachers.iter().enumerate() {
            let summary =
                match (&tp.spec.source, &tp.stage) {
                    (TeacherSource::FineTune(_), Some(stage)) => {
                        Some(done(stage, self.teacher_summaries[t].clone())?)
                    }
                    (TeacherSource::Epoch { of, epoch }, Some(stage)) => {
                        let parent = done(stage, self.teacher_summaries[*of].clone())?;
                        Some(at_epoch(&parent, *epoch).with_context(|| {
                            format!("{}: {}", tp.spec.name, stage.dir.display())
                        })?)
                    }
                    _ => None,
                };
            teachers.push(summary);
        }
        let mut summaries = Vec::new();
        for (sp, s) in plan.students.iter().zip(&self.students) {
            summaries.push(done(&sp.stage, s.clone())?);
        }
        let mut sizes = Vec::new();
        for (t, s) in plan.transfers.iter().zip(&self.transfer_sizes) {
            let cached = s.map(|total| TransferSummary {
                originals: 0,
                total,
                seconds: 0.0,
            });
            sizes.push(done(&t.transfer, cached)?.total);
        }
        let load = |t: usize| self.teacher(t);
        self.run
            .evaluate(plan, &load, &teachers, &summaries, &sizes)
    }
}

/// A fine-tune's record as it stood after `epoch`: its first `epoch` epochs, that epoch as the
/// kept one (an epoch-checkpoint teacher's record).
fn at_epoch(parent: &TrainSummary, epoch: usize) -> Result<TrainSummary> {
    let Some(last) = parent.history.get(epoch.wrapping_sub(1)) else {
        bail!(
            "the fine-tune recorded {} epoch(s), not epoch {epoch}",
            parent.history.len()
        );
    };
    let history = parent.history[..epoch].to_vec();
    Ok(TrainSummary {
        best_epoch: epoch,
        best_dev_accuracy: last.dev_accuracy,
        seconds: history.iter().map(|e| e.seconds).sum(),
        history,
        train_examples: parent.train_examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{layered, Overrides};
    use crate::data::TaskData;
    use crate::log::RunLog;
    use crate::pipeline::tests::Inputs;
    use crate::pipeline::RunSpec;
    use crate::store::Store;

    /// Small stand-ins for the input files the keys digest (the key tests' [`Inputs`]), a
    /// store and an out dir.
    struct Fixture(Inputs);

    impl Fixture {
        fn new() -> Self {
            Fixture(Inputs::new())
        }

        /// An embedded config (`sst2.yaml`, ...) over these inputs, `extra` YAML merged last.
        fn spec(&self, config: &'static str, smoke: bool, extra: &str) -> RunSpec {
            let overrides = Overrides {
                smoke,
                ..Overrides::default()
            };
            self.spec_with(config, &overrides, extra)
        }

        /// [`Fixture::spec`] with any overrides.
        fn spec_with(&self, config: &'static str, overrides: &Overrides, extra: &str) -> RunSpec {
            RunSpec {
                cfg: self.0.config_of(config, overrides, extra),
                data_dir: self.0.path("data"),
                out_dir: self.0.path("out"),
                store: self.0.path("store"),
                device: tch::Device::Cpu,
            }
        }
    }

    fn data() -> TaskData {
        crate::pipeline::tests::data("train", "dev")
    }

    /// Runs `f` with the executor of `spec`'s cells over an empty store.
    fn with_exec<T>(spec: &RunSpec, f: impl FnOnce(&Exec, &Plan) -> T) -> T {
        let store = Store::open(&spec.store).unwrap();
        std::fs::create_dir_all(&spec.out_dir).unwrap();
        let run = Run {
            spec,
            store: store.clone(),
            log: RunLog::open(&spec.out_dir.join("log.txt")),
            data: data(),
            rev: "test".into(),
        };
        let plan = Plan::new(&spec.cfg, &run.data, &store).unwrap();
        let exec = Exec::new(&run, &plan, false);
        f(&exec, &plan)
    }

    /// The default teacher's fine-tune stage.
    fn teacher(plan: &Plan) -> &Stage {
        plan.teacher_stage(0).unwrap()
    }

    fn kinds(cells: &[Cell]) -> Vec<CellKind> {
        cells.iter().map(|c| c.kind).collect()
    }

    /// Every need of every cell is built by cells listed before it (workers taking cells in
    /// increasing order never wait for each other in a cycle).
    fn assert_needs_come_first(exec: &Exec) {
        for k in 0..exec.cells.len() {
            for need in exec.needs(k) {
                let producers: Vec<usize> = (0..exec.cells.len())
                    .filter(|&i| match (need, exec.cells[i].kind) {
                        (Need::Teacher(t), CellKind::Teacher { teacher }) => t == teacher,
                        (Need::Transfer(s), CellKind::Transfer { set }) => s == set,
                        (Need::Labels(l), CellKind::Labels { labels, .. }) => l == labels,
                        (Need::Student(s), CellKind::Student { index }) => s == index,
                        _ => false,
                    })
                    .collect();
                assert!(!producers.is_empty(), "cell {k}: {need:?} has no cell");
                assert!(
                    producers.iter().all(|&p| p < k),
                    "cell {k} needs {need:?} from cells {producers:?}"
                );
            }
        }
    }

    #[test]
    fn the_default_and_smoke_configs_list_their_cells_in_order() {
        let fx = Fixture::new();
        let spec = fx.spec("sst2.yaml", false, "");
        with_exec(&spec, |exec, plan| {
            use CellKind::*;
            assert_eq!(
                kinds(&exec.cells),
                [
                    Teacher { teacher: 0 },
                    Transfer { set: 0 },
                    Labels {
                        labels: 0,
                        shard: 0,
                        shards: 1
                    },
                    Student { index: 0 },
                    Student { index: 1 },
                    Evaluate,
                ]
            );
            let lines: Vec<String> = exec
                .cells
                .iter()
                .enumerate()
                .map(|(k, c)| c.line(k))
                .collect();
            let d = |s: &Stage| s.dir.display().to_string();
            assert_eq!(
                lines,
                [
                    format!("0\tteacher\tteacher\t{}", d(teacher(plan))),
                    format!(
                        "1\ttransfer\tset 0 (n_iter 6)\t{}",
                        d(&plan.transfers[0].transfer)
                    ),
                    format!("2\tlabels\tset 0, shard 1/1\t{}", d(&plan.labels[0].stage)),
                    format!("3\tstudent\tbilstm seed 0\t{}", d(&plan.students[0].stage)),
                    format!(
                        "4\tstudent\tbilstm_soft seed 0\t{}",
                        d(&plan.students[1].stage)
                    ),
                    format!("5\tevaluate\tdefault\t{}", spec.out_dir.display()),
                ]
            );
            assert_needs_come_first(exec);
        });

        // The smoke overlay keeps the cells (smaller stages, other keys); shards multiply the
        // labelling cell.
        let smoke = fx.spec("sst2.yaml", true, "teacher: {label_shards: 3}");
        with_exec(&smoke, |exec, plan| {
            let k = kinds(&exec.cells);
            assert_eq!(k.len(), 8);
            for shard in 0..3 {
                assert_eq!(
                    k[2 + shard],
                    CellKind::Labels {
                        labels: 0,
                        shard,
                        shards: 3
                    }
                );
                assert_eq!(exec.cells[2 + shard].dir, plan.labels[0].stage.dir);
            }
            assert_eq!(exec.cells[3].name, "set 0, shard 2/3");
            assert_eq!(k[7], CellKind::Evaluate);
            assert_eq!(exec.cells[7].name, "default-smoke");
            assert_needs_come_first(exec);
        });
    }

    #[test]
    fn the_ablation_grid_lists_every_transfer_set_before_any_labelling() {
        let fx = Fixture::new();
        let spec = fx.spec("sst2-ablations.yaml", false, "teacher: {label_shards: 2}");
        with_exec(&spec, |exec, plan| {
            let sets = plan.transfers.len();
            assert!(sets >= 2, "the grid has an n_iter-2 set too");
            let k = kinds(&exec.cells);
            assert_eq!(k.len(), 1 + sets + 2 * sets + plan.students.len() + 1);
            assert_eq!(k[0], CellKind::Teacher { teacher: 0 });
            for (s, kind) in k[1..=sets].iter().enumerate() {
                assert_eq!(*kind, CellKind::Transfer { set: s });
            }
            let labels = &k[1 + sets..1 + 3 * sets];
            assert!(labels.iter().all(|c| c.label() == "labels"));
            let students = &k[1 + 3 * sets..k.len() - 1];
            assert!(students.iter().all(|c| c.label() == "student"));
            assert_eq!(*k.last().unwrap(), CellKind::Evaluate);
            assert_needs_come_first(exec);
        });
    }

    #[test]
    fn a_selection_of_variants_keeps_their_stage_keys_and_only_their_stages() {
        let fx = Fixture::new();
        let full = fx.spec("sst2-ablations.yaml", false, "");
        let names: Vec<String> = ["mse_n_iter2", "bilstm_soft"].map(String::from).into();
        let overrides = Overrides {
            variants: Some(names.clone()),
            ..Overrides::default()
        };
        let part = fx.spec_with("sst2-ablations.yaml", &overrides, "");
        let students = |spec: &RunSpec| {
            with_exec(spec, |exec, plan| {
                assert_needs_come_first(exec);
                let students: Vec<(String, u64, std::path::PathBuf)> = plan
                    .students
                    .iter()
                    .map(|s| (s.run.variant.to_string(), s.run.seed, s.stage.dir.clone()))
                    .collect();
                (students, plan.transfers.len(), plan.labels.len())
            })
        };
        let (all, all_sets, _) = students(&full);
        let (some, sets, labels) = students(&part);
        // The config's order, not the command line's; the same keys as in the whole grid.
        let expected: Vec<_> = all.into_iter().filter(|s| names.contains(&s.0)).collect();
        assert_eq!(expected.len(), 6, "two variants x three seeds");
        assert_eq!(expected[0].0, "bilstm_soft");
        assert_eq!(some, expected);
        // Both variants read transfer sets (n_iter 6 and 2): the grid's two, labelled once each.
        assert_eq!((sets, labels, all_sets), (2, 2, 2));

        let mut bad = overrides.clone();
        bad.variants = Some(vec!["bilstm".into(), "no_such".into()]);
        let base = layered::load(&layered::Source::Embedded("sst2-ablations.yaml")).unwrap();
        let err = ExperimentConfig::from_value(base.clone(), &bad).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "--variants: no variant named `no_such` (variants: bilstm, bilstm_soft,"
            ),
            "{err}"
        );
        bad.variants = Some(vec!["bilstm".into(), "bilstm".into()]);
        let err = ExperimentConfig::from_value(base, &bad).unwrap_err();
        assert_eq!(err.to_string(), "--variants: `bilstm` is named twice");
    }

    #[test]
    fn the_cell_list_does_not_depend_on_the_store() {
        let fx = Fixture::new();
        let spec = fx.spec("sst2.yaml", true, "");
        let before = with_exec(&spec, |exec, _| exec.cells.clone());
        // Finish the teacher and the transfer set, leave a labelling half done.
        with_exec(&spec, |_, plan| {
            let summary = TrainSummary {
                best_epoch: 1,
                best_dev_accuracy: 0.5,
                history: Vec::new(),
                seconds: 1.0,
                train_examples: 0,
            };
            teacher(plan).lock(|_| {}).unwrap();
            teacher(plan).finish(&summary, tch::Device::Cpu).unwrap();
            let t = &plan.transfers[0];
            t.transfer.lock(|_| {}).unwrap();
            let s = TransferSummary {
                originals: 48,
                total: 118,
                seconds: 1.0,
            };
            t.transfer.finish(&s, tch::Device::Cpu).unwrap();
            std::fs::create_dir_all(plan.labels[0].stage.dir.join("chunks")).unwrap();
        });
        let after = with_exec(&spec, |exec, _| exec.cells.clone());
        assert_eq!(before, after);
    }

    #[test]
    fn a_missing_dependency_is_named_with_the_cells_that_build_it() {
        let fx = Fixture::new();
        let spec = fx.spec("sst2.yaml", false, "");
        with_exec(&spec, |exec, plan| {
            let labels = &plan.labels[0].stage;
            // bilstm_soft (cell 4) reads the labelled set.
            let m = exec.missing(4).unwrap().unwrap();
            assert_eq!(m.dir, labels.dir);
            assert_eq!(m.cells, [2]);
            let e = exec.await_needs(4, None).unwrap_err().to_string();
            assert_eq!(e.lines().count(), 1, "{e}");
            assert!(
                e.starts_with("cell 4 (student bilstm_soft seed 0) needs ")
                    && e.contains(&labels.dir.display().to_string())
                    && e.contains("labels of transfer set 0, built by cell 2")
                    && e.contains("not finished")
                    && e.contains("--wait"),
                "{e}"
            );
            // The gold-label baseline (cell 3) needs nothing, nor do the teacher and the set.
            for k in [0, 1, 3] {
                assert_eq!(exec.missing(k).unwrap(), None, "cell {k}");
                exec.await_needs(k, None).unwrap();
            }
            // Labelling needs the teacher, then the transfer set; the evaluation the teacher first.
            assert_eq!(exec.missing(2).unwrap().unwrap().dir, teacher(plan).dir);
            assert_eq!(exec.missing(5).unwrap().unwrap().dir, teacher(plan).dir);
            teacher(plan).lock(|_| {}).unwrap();
            teacher(plan).finish(&0u32, tch::Device::Cpu).unwrap();
            let m = exec.missing(2).unwrap().unwrap();
            assert_eq!(m.dir, plan.transfers[0].transfer.dir);
            assert_eq!(m.what, "transfer set 0");
            assert_eq!(m.cells, [1]);
            // --wait: polls, then gives up naming the same stage.
            let t = Instant::now();
            let e = exec
                .await_needs(2, Some(Duration::from_millis(300)))
                .unwrap_err()
                .to_string();
            assert!(t.elapsed() >= Duration::from_millis(300));
            assert!(
                e.contains("timed out after 0 s waiting for")
                    && e.contains(&plan.transfers[0].transfer.dir.display().to_string()),
                "{e}"
            );
            // The labels are not complete without their chunks: nothing is joined.
            let t0 = &plan.transfers[0];
            t0.transfer.lock(|_| {}).unwrap();
            let s = TransferSummary {
                originals: 1,
                total: 3,
                seconds: 0.0,
            };
            t0.transfer.finish(&s, tch::Device::Cpu).unwrap();
            assert_eq!(exec.missing(2).unwrap(), None);
            assert_eq!(exec.missing(4).unwrap().unwrap().dir, labels.dir);
            assert!(!labels.is_done());
        });
    }

    /// The phases of an array submission (deploy/slurm/submit.sh): maximal runs of cells of one
    /// kind, in list order, each run after every earlier one. That is sound when no cell needs a
    /// cell of its own phase or of a later one, and when each kind forms one run.
    fn assert_phases_chain(exec: &Exec) {
        let kinds: Vec<&str> = exec.cells.iter().map(|c| c.kind.label()).collect();
        let mut phase = vec![0usize; kinds.len()];
        for k in 1..kinds.len() {
            phase[k] = phase[k - 1] + usize::from(kinds[k] != kinds[k - 1]);
        }
        for k in 0..kinds.len() {
            let same_kind_later =
                (k + 1..kinds.len()).any(|j| kinds[j] == kinds[k] && phase[j] != phase[k]);
            assert!(
                !same_kind_later,
                "{kinds:?}: {} cells in two runs",
                kinds[k]
            );
            for need in exec.needs(k) {
                for (i, c) in exec.cells.iter().enumerate() {
                    let produces = match (need, c.kind) {
                        (Need::Teacher(t), CellKind::Teacher { teacher }) => t == teacher,
                        (Need::Transfer(s), CellKind::Transfer { set }) => s == set,
                        (Need::Labels(l), CellKind::Labels { labels, .. }) => l == labels,
                        (Need::Student(s), CellKind::Student { index }) => s == index,
                        _ => false,
                    };
                    assert!(
                        !produces || phase[i] < phase[k],
                        "cell {k} ({}) needs cell {i} of phase {}, not an earlier one",
                        kinds[k],
                        phase[i]
                    );
                }
            }
        }
    }

    #[test]
    fn each_kind_of_cell_is_one_phase_that_needs_only_earlier_phases() {
        let fx = Fixture::new();
        for (config, smoke, extra) in [
            ("sst2.yaml", false, ""),
            ("sst2.yaml", true, "teacher: {label_shards: 3}"),
            ("sst2-ablations.yaml", false, "teacher: {label_shards: 2}"),
        ] {
            let spec = fx.spec(config, smoke, extra);
            with_exec(&spec, |exec, _| assert_phases_chain(exec));
        }
    }

    #[test]
    fn a_failed_cells_marker_stops_its_waiters_at_once() {
        let fx = Fixture::new();
        let spec = fx.spec("sst2.yaml", false, "");
        with_exec(&spec, |exec, plan| {
            let labels = &plan.labels[0].stage;
            std::fs::create_dir_all(&labels.dir).unwrap();
            let cell = "cell 2 (labels set 0, shard 1/1)";
            crate::store::mark_failed(&labels.dir, cell, "out of memory").unwrap();
            // bilstm_soft (cell 4) waits for the labels: it gives up at once, naming the cell.
            let t = Instant::now();
            let e = exec
                .await_needs(4, Some(Duration::from_secs(60)))
                .unwrap_err();
            assert!(t.elapsed() < Duration::from_secs(5));
            assert!(e.downcast_ref::<UpstreamFailed>().is_some(), "{e}");
            let e = e.to_string();
            assert!(
                e.starts_with("cell 4 (student bilstm_soft seed 0) needs ")
                    && e.contains(&format!("{cell} failed"))
                    && e.contains("out of memory")
                    && e.contains("rerun it"),
                "{e}"
            );
            let e = exec.await_needs(4, None).unwrap_err().to_string();
            assert!(e.contains(&format!("{cell} failed")), "{e}");
            // Rerunning the cell removes the marker: waiting (and failing fast) is back to normal.
            crate::store::clear_failure(&labels.dir).unwrap();
            let e = exec.await_needs(4, None).unwrap_err().to_string();
            assert!(e.contains("not finished"), "{e}");
            // The gold-label baseline needs nothing: a marker elsewhere does not concern it.
            exec.await_needs(3, Some(Duration::from_secs(1))).unwrap();
        });
    }
}
