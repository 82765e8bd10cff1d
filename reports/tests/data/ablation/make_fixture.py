"""Writes the small ablation run folder used by reports/tests/ablation.rs.

    python3 reports/tests/data/ablation/make_fixture.py

Eight SST-2 dev examples, two seeds. Each model's per-example correctness is spelled out below,
so every accuracy, Δ and the identical-predictions case (aug_inherited = bilstm, CI [0, 0]) can be
checked by hand. soft_ce_t2 has seed 0 only (the bootstrap pools the seeds both models have).
Standard library only: the numbers are counts, nothing PyTorch computes.
"""

import csv
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sst2-ablations")
TASK, CONFIG, SPLIT = "sst2", "ablations", "dev"
LABELS = [0, 1, 0, 1, 1, 0, 1, 0]

# model -> seed -> correctness of examples 0..7 (1 = correct).
CORRECT = {
    "teacher": {0: [1, 1, 1, 1, 1, 0, 1, 1]},
    "bilstm": {0: [1, 0, 1, 0, 1, 0, 1, 1], 1: [1, 1, 0, 0, 1, 0, 1, 0]},
    "bilstm_soft": {0: [1, 1, 1, 1, 1, 0, 1, 1], 1: [1, 1, 1, 0, 1, 1, 1, 1]},
    "kd_no_aug": {0: [1, 1, 1, 0, 1, 0, 1, 1], 1: [1, 1, 0, 0, 1, 1, 1, 0]},
    "aug_inherited": {0: [1, 0, 1, 0, 1, 0, 1, 1], 1: [1, 1, 0, 0, 1, 0, 1, 0]},
    "aug_teacher_argmax": {0: [1, 1, 1, 0, 1, 0, 1, 1], 1: [1, 1, 1, 0, 1, 0, 1, 1]},
    "soft_ce_t2": {0: [1, 1, 1, 0, 1, 0, 1, 1]},
}

# model, baseline, data, targets, objective, alpha, soft, temperature, n_iter, size, description
VARIANTS = [
    ("bilstm", True, "train", "gold", "hard", 1.0, "none", 1.0, 0, 8, "BiLSTM: gold labels, training set"),
    ("bilstm_soft", False, "transfer", "teacher_logits", "distill", 0.0, "mse", 1.0, 6, 40, "BiLSTM_SOFT: teacher logits (MSE), transfer set"),
    ("kd_no_aug", False, "train", "teacher_logits", "distill", 0.0, "mse", 1.0, 0, 8, "KD without augmentation"),
    ("aug_inherited", False, "transfer", "inherited", "hard", 1.0, "none", 1.0, 6, 40, "Augmentation without a teacher"),
    ("aug_teacher_argmax", False, "transfer", "teacher_argmax", "hard", 1.0, "none", 1.0, 6, 40, "Augmentation + teacher argmax"),
    ("soft_ce_t2", False, "transfer", "teacher_logits", "distill", 0.0, "soft_ce", 2.0, 6, 40, "Soft CE, T = 2"),
]


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    os.makedirs(HERE, exist_ok=True)
    write(
        "variants.csv",
        ["task", "config", "model", "baseline", "data", "targets", "objective", "alpha", "soft",
         "temperature", "n_iter", "transfer_size", "description"],
        [[TASK, CONFIG, m, str(b).lower(), d, t, o, a, s, temp, n, size, desc]
         for (m, b, d, t, o, a, s, temp, n, size, desc) in VARIANTS],
    )
    metrics, preds = [], []
    for model, seeds in CORRECT.items():
        for seed, ok in seeds.items():
            metrics.append([TASK, model, SPLIT, "accuracy", 100.0 * sum(ok) / len(ok), seed, CONFIG, "abc1234"])
            for i, (y, c) in enumerate(zip(LABELS, ok)):
                preds.append([TASK, CONFIG, model, seed, SPLIT, i, y, y if c else 1 - y])
    write("metrics.csv", ["task", "model", "split", "metric", "value", "seed", "config", "git_rev"], metrics)
    write("dev_predictions.csv",
          ["task", "config", "model", "seed", "split", "example", "label", "prediction"], preds)


if __name__ == "__main__":
    main()
