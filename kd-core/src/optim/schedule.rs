//! The teacher's learning-rate schedule: linear warm-up then linear decay to 0, as Hugging Face
//! `get_linear_schedule_with_warmup` (BERT fine-tuning, Devlin et al. 2019; Tang et al. 2019 §4.2
//! fine-tune BERT the standard way).

/// The LR multiplier for optimiser step `step` (0-based: the step about to be taken, i.e. the
/// number of `scheduler.step()` calls so far in HF terms):
/// `step / max(1, warmup_steps)` while `step < warmup_steps`, then
/// `max(0, (total_steps - step) / max(1, total_steps - warmup_steps))`.
///
/// As in HF, the very first step of a run with warm-up has multiplier 0, and the multiplier is
/// 0 from `total_steps` on. Checked against `transformers` in `kd-core/tests/adadelta.rs`.
pub fn linear_warmup_decay(step: usize, warmup_steps: usize, total_steps: usize) -> f64 {
    if step < warmup_steps {
        return step as f64 / warmup_steps.max(1) as f64;
    }
    let remaining = total_steps as f64 - step as f64;
    let span = (total_steps as f64 - warmup_steps as f64).max(1.0);
    (remaining / span).max(0.0)
}
