"""Acceptance (interop): a checkpoint loaded into PyTorch by results/to_pytorch.py gives the loss
`tbptt eval` gives, to 1e-5 relative, for LSTM, GRU and vanilla RNN language models trained by
`tbptt run` on a generated UTF-8 corpus (char and word level, with and without tbptt.seq_len
resets), on the valid and test splits, an older checkpoint, another eval batch, and other text
encoded with the run's stored vocabulary. `tbptt eval` itself must reproduce the run's own last
eval/ row (it is the same protocol). Exits 77 (CTest: skipped) when torch cannot be imported.
"""
import contextlib
import importlib.util
import io
import math
import os
import re
import sys
import unittest

try:
    import torch  # noqa: F401  (only its presence is checked here; to_pytorch.py uses it)
except ImportError:
    print("torch is not installed: skipped")
    sys.exit(77)

import h5py

from e2e import SOURCE_DIR, TBPTT, FolderTest, command, run_files, tbptt_run, write_corpus

# to_pytorch.py's command line, run in this process: importing torch takes seconds, once is enough.
_spec = importlib.util.spec_from_file_location("to_pytorch", os.path.join(SOURCE_DIR, "results", "to_pytorch.py"))
to_pytorch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(to_pytorch)
EXPERIMENT = """\
    name: interop
    seed: 7
    data: {{source: text, path: {corpus}}}
    model: {{layers: 2, hidden: 16, embedding: 8}}
    tbptt: {{k1: 8, k2: 12}}
    train: {{batch: 4, steps: 12, optimizer: {{name: adam, lr: 0.02}}, clip_grad_norm: 1.0}}
    eval: {{every: 6, batch: 3, window: 5}}
    checkpoint: {{every: 6}}
    sweep:
      zip: {{model.cell: [lstm, gru, rnn_tanh], tbptt.seq_len: [0, 40, 0], data.level: [char, char, word]}}
    """
RELATIVE = 1e-5


def tbptt_eval(run, *args):
    line = command(TBPTT, "eval", run, *args)
    match = re.match(r"(valid|test): targets (\d+) loss (\S+) ", line)
    assert match, line
    return float(match.group(3)), int(match.group(2))


def pytorch_eval(run, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        to_pytorch.main([run, *args])
    line = out.getvalue()
    match = re.search(r"loss (\S+) .* targets (\d+)", line)
    assert match, line
    return float(match.group(1)), int(match.group(2))


class PyTorchEquivalence(FolderTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.corpus = cls.path("corpus.txt")
        write_corpus(cls.corpus)
        experiment = cls.write("interop.yaml", EXPERIMENT.format(corpus=cls.corpus))
        tbptt_run(2, experiment, cls.path("out"))
        cls.runs = {}
        for path in run_files(cls.path("out"), "interop").values():
            with h5py.File(path, "r") as f:
                cls.runs[f.attrs["model.cell"]] = path

    def assertSameLoss(self, tbptt, pytorch, what):
        (loss, targets), (torch_loss, torch_targets) = tbptt, pytorch
        self.assertEqual(targets, torch_targets, what)
        self.assertGreater(targets, 0, what)
        self.assertLessEqual(abs(loss - torch_loss), RELATIVE * abs(loss),
                             f"{what}: tbptt eval {loss!r}, PyTorch {torch_loss!r}")

    def test_every_cell_trained_and_the_corpus_is_not_ascii(self):
        self.assertEqual(sorted(self.runs), ["gru", "lstm", "rnn_tanh"])
        with open(self.corpus, "rb") as f:
            self.assertGreater(max(f.read()), 127)

    def test_valid_split_of_the_newest_checkpoint(self):
        for cell, run in self.runs.items():
            with self.subTest(cell=cell):
                self.assertSameLoss(tbptt_eval(run), pytorch_eval(run, "--split", "valid"), cell)

    def test_tbptt_eval_reproduces_the_runs_own_last_evaluation(self):
        for cell, run in self.runs.items():
            with h5py.File(run, "r") as f:
                recorded = f["eval/loss"][-1], int(f["eval/targets"][-1]), int(f["eval/update"][-1])
            with self.subTest(cell=cell):
                loss, targets = tbptt_eval(run)
                self.assertEqual(recorded[2], 12)  # the final evaluation, of the newest checkpoint
                self.assertEqual(targets, recorded[1])
                self.assertLessEqual(abs(loss - recorded[0]), 1e-12 * abs(loss))

    def test_test_split_of_an_older_checkpoint_with_another_eval_batch(self):
        for cell, run in self.runs.items():
            with self.subTest(cell=cell):
                older = tbptt_eval(run, "--split", "test", "--checkpoint", "6", "--set", "eval.batch=2")
                self.assertSameLoss(older, pytorch_eval(run, "--split", "test", "--checkpoint", "6", "--batch", "2"),
                                    cell)
                self.assertNotEqual(older[0], tbptt_eval(run, "--split", "test", "--set", "eval.batch=2")[0])

    def test_other_text_is_encoded_with_the_runs_vocabulary(self):
        # Characters the corpus never had (z, q, ½) become <unk>: the vocabulary is not rebuilt.
        text = "zebra quiz: ½ the cat sat on the naïve dog\n" * 12
        other = self.write("other.txt", text)
        n = len(text)  # char level: one token per code point (data/README.md "Text")
        first, count = math.floor(0.1 * n), math.floor(0.8 * n)
        valid = self.write("other_valid.txt", text[first:first + count])
        run = self.runs["lstm"]
        self.assertSameLoss(tbptt_eval(run, "--set", f"data.path={other}", "--set", "data.split=[0.1, 0.8, 0.1]"),
                            pytorch_eval(run, "--text", valid), "other text")


if __name__ == "__main__":
    unittest.main()
