#!/usr/bin/python3
"""to_pytorch.py builds the torch.nn model a run describes and loads the state_dict the C++
library wrote (via results_tool), for every cell type. Exits 77 (CTest: skipped) without torch.
The end-to-end equality with `tbptt eval` is the harness's test.

usage: test_to_pytorch.py RESULTS_TOOL TO_PYTORCH_PY
"""
import importlib.util
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
except ImportError:
    print("torch is not installed: skipped")
    sys.exit(77)

import h5py
import numpy as np

TOOL = SCRIPT = None
LAYERS, HIDDEN, EMBEDDING, VOCAB = 2, 6, 5, 10  # as results_tool writes them
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1}
TEXT = "abc defgh\nhead bag\n" * 30


def load_module(path):
    spec = importlib.util.spec_from_file_location("to_pytorch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ToPytorch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tp = load_module(SCRIPT)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.paths = {}
        for cell in list(GATES) + ["broken"]:
            out = subprocess.run([TOOL, "model", cls.tmp.name, cell], check=True,
                                 capture_output=True, text=True).stdout.strip()
            cls.paths[cell] = out
        cls.text_file = os.path.join(cls.tmp.name, "text.txt")
        with open(cls.text_file, "w") as f:
            f.write(TEXT)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def model_for(self, cell, checkpoint=None):
        attrs, vocab, state_dict, update = self.tp.read_run(self.paths[cell], checkpoint)
        model = self.tp.build_model(attrs, len(vocab))
        self.tp.load_state(model, state_dict)
        return model, update

    def test_every_cell_builds_and_loads_with_pytorch_shapes(self):
        for cell, gates in GATES.items():
            with self.subTest(cell=cell):
                model, update = self.model_for(cell)
                self.assertEqual(update, 7)  # the newest of the two checkpoints
                self.assertIsInstance(model.rnn, {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU,
                                                  "rnn_tanh": torch.nn.RNN}[cell])
                self.assertEqual(model.rnn.num_layers, LAYERS)
                self.assertFalse(model.rnn.batch_first)
                shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
                self.assertEqual(shapes["embedding.weight"], (VOCAB, EMBEDDING))
                self.assertEqual(shapes["rnn.weight_ih_l0"], (gates * HIDDEN, EMBEDDING))
                self.assertEqual(shapes["rnn.weight_ih_l1"], (gates * HIDDEN, HIDDEN))
                self.assertEqual(shapes["rnn.weight_hh_l1"], (gates * HIDDEN, HIDDEN))
                self.assertEqual(shapes["rnn.bias_hh_l0"], (gates * HIDDEN,))
                self.assertEqual(shapes["head.weight"], (VOCAB, HIDDEN))
                with h5py.File(self.paths[cell], "r") as f:
                    stored = f["checkpoint/0000000007/state_dict"]
                    self.assertEqual(set(stored), set(shapes))
                    for name, tensor in model.state_dict().items():
                        self.assertTrue(np.array_equal(tensor.numpy(), stored[name][()]), name)

    def test_checkpoint_option_picks_that_checkpoint(self):
        newest, _ = self.model_for("gru")
        older, update = self.model_for("gru", 3)
        self.assertEqual(update, 3)
        with h5py.File(self.paths["gru"], "r") as f:
            expected = f["checkpoint/0000000003/state_dict/head.weight"][()]
        self.assertTrue(np.array_equal(older.head.weight.detach().numpy(), expected))
        self.assertFalse(torch.equal(older.head.weight, newest.head.weight))

    def test_windows_with_carried_state_equal_one_long_forward(self):
        model, _ = self.model_for("lstm")
        attrs, vocab, _, _ = self.tp.read_run(self.paths["lstm"])
        tokens = self.tp.tokenize(TEXT, vocab, "char")
        self.assertEqual(tokens[:4], [vocab.index(c) for c in "abc "])
        loss, targets = self.tp.evaluate(model, tokens, batch=3, window=7)
        rows = (len(tokens) - 1) // 3  # n tokens are n - 1 steps (input x[p], target x[p+1])
        self.assertEqual(targets, 3 * rows)
        # The same rows in one forward call: carrying the state across windows must not change it.
        stream = torch.tensor(tokens)
        inputs = stream[: rows * 3].view(3, rows).t()
        expected = stream[1: rows * 3 + 1].view(3, rows).t()
        with torch.no_grad():
            logits, _ = model(inputs)
            whole = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), expected.reshape(-1))
        self.assertAlmostEqual(loss, whole.item(), places=5)

    def test_command_line_prints_the_loss(self):
        result = subprocess.run(["/usr/bin/python3", SCRIPT, self.paths["rnn_tanh"], "--text",
                                 self.text_file, "--batch", "2", "--window", "9"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        match = re.search(r"loss (\S+) perplexity (\S+) bits_per_token \S+ targets (\d+)", result.stdout)
        self.assertIsNotNone(match, result.stdout)
        loss = float(match.group(1))
        self.assertTrue(math.isfinite(loss) and loss > 0)
        self.assertAlmostEqual(float(match.group(2)), math.exp(loss), places=3)
        self.assertEqual(int(match.group(3)), 2 * (len(TEXT) // 2 - 1))

    def test_mismatches_are_reported_plainly(self):
        cases = [
            ([self.paths["broken"]], "head.bias: checkpoint shape (3,), model expects (10,)"),
            ([self.paths["lstm"], "--checkpoint", "5"], "no checkpoint at update 5; it has [3, 7]"),
        ]
        for args, message in cases:
            result = subprocess.run(["/usr/bin/python3", SCRIPT, *args, "--text", self.text_file],
                                    capture_output=True, text=True)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)
        with self.assertRaises(SystemExit) as caught:
            self.tp.tokenize("abz", [c for c in "abc"], "char")
        self.assertIn("'z'", str(caught.exception))


if __name__ == "__main__":
    TOOL, SCRIPT = sys.argv.pop(1), sys.argv.pop(1)
    unittest.main()
