#!/usr/bin/python3
"""Rebuild a tbptt run's model in PyTorch, load a checkpoint, and evaluate it on text.

usage: to_pytorch.py RUN.h5 [--checkpoint N] --text FILE [--text FILE ...]
                     [--batch B] [--window T] [--threads N]

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
# PROVISIONAL: the lead fixes the exact protocol together with `tbptt eval` (how text becomes
# tokens, how the stream is batchified and windowed). Keep it in these two functions.

def tokenize(text_, vocab, level):
    """Token ids of `text_`: one per character (level char) or per whitespace-separated word."""
    ids = {token: i for i, token in enumerate(vocab)}
    pieces = list(text_) if level == "char" else text_.split()
    unknown = sorted({p for p in pieces if p not in ids})
    if unknown and "<unk>" not in ids:
        fail(f"{len(unknown)} tokens are not in the run's vocabulary, e.g. {unknown[:5]}")
    return [ids.get(p, ids.get("<unk>")) for p in pieces]


def evaluate(model, tokens, batch, window):
    """Mean next-token cross-entropy (nats) and the number of targets.

    The stream is cut into `batch` contiguous rows (the tail that does not fill a row is
    dropped), read in windows of `window` steps with the state carried from one window to the
    next; every position but the last of a row is an input whose next token is a target.
    """
    rows = len(tokens) // batch
    if rows < 2:
        fail(f"{len(tokens)} tokens are too few for batch {batch}")
    data = torch.tensor(tokens[: rows * batch], dtype=torch.long).view(batch, rows).t()  # [N, B]
    total, targets, state = 0.0, 0, None
    model.eval()
    with torch.no_grad():
        for start in range(0, rows - 1, window):
            inputs = data[start: min(start + window, rows - 1)]
            expected = data[start + 1: start + 1 + len(inputs)]
            logits, state = model(inputs, state)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 expected.reshape(-1), reduction="sum").item()
            targets += expected.numel()
    return total / targets, targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run file, <out_dir>/<experiment>/runs/<run_id>.h5")
    parser.add_argument("--checkpoint", type=int, help="update of the checkpoint (default: newest)")
    parser.add_argument("--text", action="append", required=True, help="text file to evaluate")
    parser.add_argument("--batch", type=int, default=1, help="rows the stream is cut into")
    parser.add_argument("--window", type=int, default=100, help="steps per forward call")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if torch is None:
        fail("PyTorch is not installed (Debian: python3-torch)")
    if args.threads:
        torch.set_num_threads(args.threads)

    attrs, vocab, state_dict, update = read_run(args.run, args.checkpoint)
    model = build_model(attrs, len(vocab))
    load_state(model, state_dict)
    level = attrs.get("data.level", "char")
    tokens = []
    for path in args.text:
        with open(path, encoding="utf-8") as f:
            tokens += tokenize(f.read(), vocab, level)
    loss, targets = evaluate(model, tokens, args.batch, args.window)
    print(f"run {attrs.get('run_id', '?')} checkpoint {update}: loss {loss:.6f} "
          f"perplexity {math.exp(loss):.4f} bits_per_token {loss / math.log(2):.6f} "
          f"targets {targets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
