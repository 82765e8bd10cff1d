"""PyTorch eager throughput of all-MiniLM-L6-v2 on SST-2 train sentences, the counterpart of
bert-teacher/examples/teacher_throughput.rs: same checkpoint, same sentences, same batch shapes
(length-sorted batches of 128 for labelling; length-bucketed batches of 32 for training, which
for N_TRAIN <= 1600 is exactly the Rust side's bucketing: one pool sorted by length), same
threads, same recipe (AdamW, weight decay off on biases/LayerNorm, linear warm-up/decay, grad
clipping at 1, dropout on).

    .venv-fixtures/bin/python bert-teacher/bench/torch_throughput.py [N_TRAIN] [N_LABEL] [REPEATS] [THREADS]

THREADS defaults to what libtorch picks (the Rust example prints its own count).
Prints one JSON line per measurement.
"""

import json
import os
import random
import sys
import time

import torch
from transformers import BertForSequenceClassification, BertTokenizerFast, get_linear_schedule_with_warmup

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 512
n_label = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
if len(sys.argv) > 4:
    torch.set_num_threads(int(sys.argv[4]))
threads = torch.get_num_threads()

minilm = os.path.join(ROOT, ".cache", "minilm")
with open(os.path.join(ROOT, "data", "glue", "SST-2", "train.tsv")) as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:]
sentences = [r[0] for r in rows]
labels = [int(r[1]) for r in rows]

tok = BertTokenizerFast(tokenizer_file=os.path.join(minilm, "tokenizer.json"))
tok._tokenizer.no_padding()
tok._tokenizer.no_truncation()


def batches(texts, batch_size):
    enc = tok(texts, truncation=True, max_length=128)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(texts):
    return tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")


torch.manual_seed(0)
model = BertForSequenceClassification.from_pretrained(minilm, num_labels=2, attn_implementation="sdpa")

# ---- labelling: no_grad, eval mode, length-sorted batches of 128
label_texts = sentences[:n_label]
label_batches = batches(label_texts, 128)
model.eval()
for rep in range(repeats):
    start = time.perf_counter()
    with torch.no_grad():
        for b in label_batches:
            model(**collate([label_texts[i] for i in b])).logits.tolist()
    secs = time.perf_counter() - start
    print(json.dumps({"impl": "pytorch-eager", "what": "label", "rep": rep, "threads": threads,
                      "n": len(label_texts), "batch": 128, "sentences_per_sec": round(len(label_texts) / secs, 1)}))

# ---- training: one epoch, batches of 32
train_texts, train_labels = sentences[:n_train], labels[:n_train]
train_batches = batches(train_texts, 32)
for rep in range(repeats):
    model = BertForSequenceClassification.from_pretrained(minilm, num_labels=2, attn_implementation="sdpa")
    model.train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-5)
    sched = get_linear_schedule_with_warmup(opt, round(0.1 * len(train_batches)), len(train_batches))
    random.Random(rep).shuffle(train_batches)
    start = time.perf_counter()
    for b in train_batches:
        inputs = collate([train_texts[i] for i in b])
        target = torch.tensor([train_labels[i] for i in b])
        loss = torch.nn.functional.cross_entropy(model(**inputs).logits, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss.item()
    secs = time.perf_counter() - start
    print(json.dumps({"impl": "pytorch-eager", "what": "train", "rep": rep, "threads": threads,
                      "n": n_train, "batch": 32, "sentences_per_sec": round(n_train / secs, 1)}))
