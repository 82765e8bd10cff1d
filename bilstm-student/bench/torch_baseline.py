"""PyTorch baseline for the student's speed target: the same model and loop written plainly.

Model: 50-d multichannel embeddings (a frozen and a trained table; random values here, which
does not change the speed), 1-layer BiLSTM (hidden 150) over pack_padded_sequence, Linear+ReLU
(200), dropout 0.1, Linear (2). Loop: shuffled batches of 50, Adadelta(lr 1.0, rho 0.95),
cross-entropy. Inference: all SST-2 train sentences at batch 512, input order.

Run (2 threads, as the Rust side):
  /work/main/.venv-fixtures/bin/python bilstm-student/bench/torch_baseline.py [--train-batches N]
"""
import argparse
import random
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class Student(nn.Module):
    def __init__(self, vocab_size, dim=50, hidden=150, fc=200, classes=2, dropout=0.1):
        super().__init__()
        self.static = nn.Embedding(vocab_size, dim)
        self.static.weight.requires_grad_(False)
        self.non_static = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(2 * dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, fc)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(fc, classes)

    def forward(self, ids, lengths):
        x = torch.cat([self.static(ids), self.non_static(ids)], -1)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.out(self.drop(torch.relu(self.fc(torch.cat([h[0], h[1]], 1)))))


def batch(sents):
    t = max(len(s) for s in sents)
    ids = torch.tensor([s + [0] * (t - len(s)) for s in sents])
    return ids, torch.tensor([len(s) for s in sents])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/glue/SST-2/train.tsv")
    ap.add_argument("--train-batches", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    rows = [l.rstrip("\n").split("\t") for l in open(args.data, encoding="utf-8")][1:]
    vocab = {"[PAD]": 0, "[UNK]": 1}
    for s, _ in rows:
        for w in s.split():
            vocab.setdefault(w, len(vocab))
    data = [([vocab[w] for w in s.split()] or [0], int(y)) for s, y in rows]
    model = Student(len(vocab))
    opt = torch.optim.Adadelta([p for p in model.parameters() if p.requires_grad], lr=1.0, rho=0.95, eps=1e-6)
    loss_fn = nn.CrossEntropyLoss()

    order = list(range(len(data)))
    random.shuffle(order)
    model.train()
    n_batches = min(args.train_batches, len(order) // 50)
    start = time.perf_counter()
    for b in range(n_batches):
        idx = order[b * 50:(b + 1) * 50]
        ids, lens = batch([data[i][0] for i in idx])
        y = torch.tensor([data[i][1] for i in idx])
        opt.zero_grad()
        loss = loss_fn(model(ids, lens), y)
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - start
    print(f"torch train: {n_batches * 50} examples in {train_s:.2f} s = {n_batches * 50 / train_s:.0f} examples/s")

    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for b in range(0, len(data), 512):
            ids, lens = batch([d[0] for d in data[b:b + 512]])
            model(ids, lens)
    infer_s = time.perf_counter() - start
    print(f"torch inference: {len(data)} sentences at batch 512 in {infer_s:.2f} s = {len(data) / infer_s:.0f} sentences/s")


if __name__ == "__main__":
    main()
