#!/usr/bin/python3
"""Rebuild a tbptt run's model in PyTorch, load a checkpoint, and evaluate it on text.

usage: to_pytorch.py RUN.h5 [--checkpoint N] (--split valid|test | --text FILE [--text FILE ...])
                     [--batch B] [--window T] [--threads N]

It evaluates by the protocol of `tbptt eval` (below: "Evaluation protocol"): --split takes the
run's own split of its data.path (data.split fractions, or data.valid_path / data.test_path);
--text evaluates other text, encoded with the run's vocabulary. Batch and window default to the
run's eval.batch and eval.window, so the loss equals `tbptt eval RUN --split valid` to ~1e-6.

The model is read from the run file's attributes (results/README.md):
  model.cell       lstm | gru | rnn_tanh     -> nn.LSTM / nn.GRU / nn.RNN(nonlinearity="tanh")
  model.layers     L                          (batch_first=False, as in the engine: [T, B, ...])
  model.hidden     H
  model.embedding  E                          -> nn.Embedding(V, E)
  data/vocab       V token strings, in id order
and the head is nn.Linear(H, V). Module names are `embedding`, `rnn`, `head`, so the run's
checkpoint/<N>/state_dict/<name> datasets load with load_state_dict(strict=True).

Use it from Python too:
  attrs, vocab, state_dict, update = read_run("runs/ab12.h5")
  model = build_model(attrs, len(vocab)); load_state(model, state_dict)
"""
import argparse
import math
import sys

import h5py
import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # the module still imports, so callers can report a clear message
    torch = None
    nn = None

CELLS = ("lstm", "gru", "rnn_tanh")


def fail(message):
    raise SystemExit(f"to_pytorch.py: {message}")


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def read_run(path, checkpoint=None):
    """(attributes, vocab, state_dict as {name: np.float32 array}, checkpoint update).

    `checkpoint` is an update number; None takes the newest checkpoint in the file.
    """
    with h5py.File(path, "r") as f:
        attrs = {name: text(f.attrs[name]) for name in f.attrs}
        vocab = list(f["data/vocab"].asstr()[()]) if "data/vocab" in f else []
        updates = sorted(int(name) for name in f["checkpoint"]) if "checkpoint" in f else []
        if not updates:
            fail(f"{path} has no checkpoint")
        update = updates[-1] if checkpoint is None else checkpoint
        if update not in updates:
            fail(f"{path} has no checkpoint at update {update}; it has {updates}")
        group = f[f"checkpoint/{update:010d}/state_dict"]
        state_dict = {name: group[name][()] for name in group}
    return attrs, vocab, state_dict, update


def attribute(attrs, key, kind):
    if key not in attrs:
        fail(f"the run file has no attribute {key}")
    return kind(attrs[key])


class TokenModel(nn.Module if nn else object):
    """embedding -> recurrent stack -> linear head, on [T, B] token ids."""

    def __init__(self, cell, vocab, embedding, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        if cell == "lstm":
            self.rnn = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=False)
        elif cell == "gru":
            self.rnn = nn.GRU(embedding, hidden, num_layers=layers, batch_first=False)
        else:
            self.rnn = nn.RNN(embedding, hidden, num_layers=layers, nonlinearity="tanh",
                              batch_first=False)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        """tokens [T, B] int64 -> logits [T, B, V], final state (h [L, B, H], or (h, c) for LSTM)."""
        output, state = self.rnn(self.embedding(tokens), state)
        return self.head(output), state


def build_model(attrs, vocab_size):
    cell = attribute(attrs, "model.cell", str)
    if cell not in CELLS:
        fail(f"model.cell = {cell}: this script builds {', '.join(CELLS)}")
    embedding = attribute(attrs, "model.embedding", int)
    if embedding <= 0:
        fail(f"model.embedding = {embedding}: this script builds models with an embedding")
    if vocab_size <= 0:
        fail("the run file has no data/vocab (not a token model)")
    return TokenModel(cell, vocab_size, embedding, attribute(attrs, "model.hidden", int),
                      attribute(attrs, "model.layers", int))


def load_state(model, state_dict):
    """load_state_dict(strict=True), with shape mismatches and missing names said plainly."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        fail(f"checkpoint does not match the model: missing {missing}, unexpected {unexpected}")
    for name, tensor in expected.items():
        if tuple(tensor.shape) != tuple(state_dict[name].shape):
            fail(f"{name}: checkpoint shape {tuple(state_dict[name].shape)}, "
                 f"model expects {tuple(tensor.shape)}")
    model.load_state_dict({name: torch.from_numpy(np.asarray(v)) for name, v in state_dict.items()})


# ---- Evaluation protocol -----------------------------------------------------------------------
# The protocol of tbptt's own evaluation (harness/evaluation.h: the eval/ rows of a run and
# `tbptt eval`), for text runs. Tokens, splits and vocabulary follow data/README.md "Text":
#
#   a stream of n tokens is n - 1 steps (input x[p], target x[p+1]), batchified into `batch`
#   contiguous rows of R = (n - 1) // batch steps (the remainder trimmed):
#
#              j = 0        1          ...  R-1
#     row 0   [ x[0]        x[1]       ...  x[R-1]  ]  -> targets x[1] ... x[R]
#     row 1   [ x[R]        x[R+1]     ...  x[2R-1] ]  -> targets x[R+1] ... x[2R]
#
#   each row is cut into sequences of seq_len steps (0: one sequence), the state starts at zero
#   in each, and a sequence is read in windows of `window` steps with the state carried; the
#   loss is the mean over all B * R targets.

def pieces(text_, level):
    """Tokens of `text_` as strings: code points (char) or words and <eos> per line (word)."""
    if level == "char":
        return list(text_)
    lines = text_.split("\n")
    lines = lines[:-1] if lines[-1] == "" else lines
    return [t for line in lines for t in [w.decode() for w in line.encode().split()] + ["<eos>"]]


def encode(tokens, vocab):
    """Ids in the run's vocabulary; anything not in it is <unk> (which text runs always have)."""
    ids = {token: i for i, token in enumerate(vocab)}
    unknown = sorted({t for t in tokens if t not in ids})
    if unknown and "<unk>" not in ids:
        fail(f"{len(unknown)} tokens are not in the run's vocabulary, e.g. {unknown[:5]}")
    return [ids.get(t, ids.get("<unk>")) for t in tokens]


def tokenize(text_, vocab, level):
    return encode(pieces(text_, level), vocab)


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def split_tokens(attrs, vocab, split):
    """Ids of the run's own valid or test split (data.source = text)."""
    source = attrs.get("data.source")
    if source != "text":
        fail(f"--split reads the data of text runs; this run has data.source = {source} (use --text)")
    level = attrs.get("data.level", "char")
    if f"data.{split}_path" in attrs:
        return tokenize(read_text(attrs[f"data.{split}_path"]), vocab, level)
    tokens = pieces(read_text(attribute(attrs, "data.path", str)), level)
    fractions = [float(f) for f in attribute(attrs, "data.split", str).strip("[]").split(",")]
    n = len(tokens)
    n_train, n_valid = math.floor(fractions[0] * n), math.floor(fractions[1] * n)
    part = tokens[n_train:n_train + n_valid] if split == "valid" else tokens[n_train + n_valid:]
    return encode(part, vocab)


def evaluate(model, tokens, batch, window, seq_len=0):
    """Mean next-token cross-entropy (nats) and the number of targets (the protocol above)."""
    rows = (len(tokens) - 1) // batch  # R
    if rows < 1:
        fail(f"{len(tokens)} tokens are too few for batch {batch}")
    stream = torch.tensor(tokens, dtype=torch.long)
    inputs = stream[: rows * batch].view(batch, rows).t()         # [R, B]
    expected = stream[1: rows * batch + 1].view(batch, rows).t()  # [R, B]
    sequence = seq_len if seq_len > 0 else rows
    total = 0.0
    model.eval()
    with torch.no_grad():
        for first in range(0, rows, sequence):
            end, state = min(first + sequence, rows), None
            for start in range(first, end, window):
                stop = min(start + window, end)
                logits, state = model(inputs[start:stop], state)
                total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     expected[start:stop].reshape(-1),
                                                     reduction="sum").item()
    return total / (rows * batch), rows * batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run file, <out_dir>/<experiment>/runs/<run_id>.h5")
    parser.add_argument("--checkpoint", type=int, help="update of the checkpoint (default: newest)")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--split", choices=("valid", "test"), help="the run's own split (text runs)")
    data.add_argument("--text", action="append", help="text file(s) to evaluate, as one stream")
    parser.add_argument("--batch", type=int, help="rows the stream is cut into (default: eval.batch)")
    parser.add_argument("--window", type=int, help="steps per forward call (default: eval.window)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if torch is None:
        fail("PyTorch is not installed (Debian: python3-torch)")
    if args.threads:
        torch.set_num_threads(args.threads)

    attrs, vocab, state_dict, update = read_run(args.run, args.checkpoint)
    if attrs.get("model.output", "every_step") != "every_step":
        fail(f"model.output = {attrs['model.output']}: this script evaluates every_step heads")
    model = build_model(attrs, len(vocab))
    load_state(model, state_dict)
    if args.split:
        tokens = split_tokens(attrs, vocab, args.split)
    else:
        level = attrs.get("data.level", "char")
        tokens = [t for path in args.text for t in tokenize(read_text(path), vocab, level)]
    batch = args.batch or int(attrs.get("eval.batch", 10))
    window = args.window or int(attrs.get("eval.window", attrs.get("tbptt.k2", 20)))
    loss, targets = evaluate(model, tokens, batch, window, int(attrs.get("tbptt.seq_len", 0)))
    print(f"run {attrs.get('run_id', '?')} checkpoint {update}: loss {loss:.9g} "
          f"perplexity {math.exp(loss):.6g} bits_per_token {loss / math.log(2):.6g} "
          f"targets {targets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
