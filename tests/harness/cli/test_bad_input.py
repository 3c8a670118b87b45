"""Bad input at the command line (harness 4, reliability 1): every malformed experiment of
tests/bad_input/cases.tsv, bad --set keys and values, bad flags, and refusing to overwrite results,
each answered with exit status 2, a message naming FILE:LINE:COLUMN (or the option) and what is
allowed, and nothing written to the output location."""
import os
import unittest
from concurrent.futures import ThreadPoolExecutor

from tbptt_cli import SOURCE_DIR, TBPTT, TempDirTest, malformed_cases, run

BAD = os.path.join(SOURCE_DIR, "tests", "bad_input")
GOOD = """\
    name: good
    data: {source: delayed_recall, length: 2000, valid_length: 200}
    model: {hidden: 8}
    train: {batch: 4, steps: 3}
    """


class BadExperiments(TempDirTest):
    def test_corpus_is_large(self):
        self.assertGreaterEqual(len(list(malformed_cases(BAD))), 60)

    def test_every_malformed_file_exits_2_and_writes_nothing(self):
        cases = [(name, row, col, fragment, command)
                 for name, row, col, fragment in malformed_cases(BAD) for command in ("run", "plan")]

        def attempt(case):  # each case its own process and output folder: two at a time, in any order
            name, _, _, _, command = case
            out = self.path(f"out-{command}-{name}")
            return out, run([TBPTT, command, os.path.join(BAD, name)] + (["--out", out] if command == "run" else []))

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(attempt, cases))
        for (name, row, col, fragment, command), (out, result) in zip(cases, results):
            path = os.path.join(BAD, name)
            with self.subTest(file=name, command=command):
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(f"{path}:{row}:{col}: ", result.stderr)
                self.assertIn(fragment, result.stderr)
                self.assertFalse(os.path.exists(out), "nothing may be written")


class BadCommandLines(TempDirTest):
    def setUp(self):
        super().setUp()
        self.exp = self.write_experiment("good", GOOD)
        self.out = self.path("out")

    def expect_usage_error(self, args, *fragments):
        result = run([TBPTT, *args])
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertFalse(os.path.exists(self.out), "nothing may be written")

    def test_bad_set_key_gets_did_you_mean(self):
        self.expect_usage_error(["run", self.exp, "--out", self.out, "--set", "tbptt.k=5"],
                                "--set tbptt.k=5: ", "did you mean tbptt.k1?")

    def test_bad_set_value(self):
        self.expect_usage_error(["plan", self.exp, "--set", "model.hidden=-3"], "--set model.hidden=-3: ",
                                "model.hidden must be an integer in 1..65536; got -3")

    def test_set_without_equals(self):
        self.expect_usage_error(["plan", self.exp, "--set", "model.hidden"], "--set model.hidden")

    def test_unknown_flag(self):
        self.expect_usage_error(["run", self.exp, "--out", self.out, "--frobnicate"], "--frobnicate")

    def test_unknown_command(self):
        self.expect_usage_error(["train", self.exp], "train")

    def test_missing_experiment_file(self):
        self.expect_usage_error(["run", self.path("nope.yaml"), "--out", self.out], "nope.yaml")

    def test_resume_and_overwrite_exclude_each_other(self):
        self.expect_usage_error(["run", self.exp, "--out", self.out, "--resume", "--overwrite"], "--resume", "--overwrite")

    def test_missing_corpus_names_the_setting(self):
        exp = self.write_experiment("text", """\
            name: text
            data: {source: text, path: /nonexistent/corpus.txt}
            """)
        result = run([TBPTT, "run", exp, "--out", self.out])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"{exp}:2:", result.stderr)
        self.assertIn("/nonexistent/corpus.txt", result.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_output_in_a_file_is_refused_before_training(self):
        blocker = self.path("blocker")
        with open(blocker, "w") as f:
            f.write("not a folder")
        result = run([TBPTT, "run", self.exp, "--out", os.path.join(blocker, "sub")])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("cannot write results under", result.stderr)

    def test_output_whose_parent_is_missing_is_refused_before_training(self):
        missing = self.path("no", "such", "folder")
        result = run([TBPTT, "run", self.exp, "--out", missing])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("does not exist", result.stderr)
        self.assertFalse(os.path.exists(self.path("no")), "nothing may be created")

    def test_existing_results_are_never_overwritten_silently(self):
        self.assertSucceeded(run([TBPTT, "run", self.exp, "--out", self.out]))
        index = os.path.join(self.out, "good.h5")
        stamp = os.stat(index).st_mtime_ns
        result = run([TBPTT, "run", self.exp, "--out", self.out])
        self.assertEqual(result.returncode, 2)
        self.assertIn("--resume", result.stderr)
        self.assertIn("--overwrite", result.stderr)
        self.assertEqual(os.stat(index).st_mtime_ns, stamp)
        self.assertSucceeded(run([TBPTT, "run", self.exp, "--out", self.out, "--overwrite"]))
        self.assertNotEqual(os.stat(index).st_mtime_ns, stamp)


if __name__ == "__main__":
    unittest.main()
