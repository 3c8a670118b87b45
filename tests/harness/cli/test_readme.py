"""README.md stays true: its YAML reference is exactly `tbptt schema` (the one schema table), and
every command `tbptt --help` lists is documented in its Command line section."""
import os
import re
import unittest

from tbptt_cli import SOURCE_DIR, TBPTT, TempDirTest, run


class Readme(TempDirTest):
    def setUp(self):
        super().setUp()
        with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
            self.readme = f.read()

    def test_yaml_reference_is_the_schema(self):
        block = re.search(r"<!-- schema:begin -->\n(.*)<!-- schema:end -->", self.readme, re.S)
        self.assertIsNotNone(block, "README lost its schema markers")
        schema = run([TBPTT, "schema"])
        self.assertSucceeded(schema)
        self.assertEqual(block.group(1), schema.stdout, "regenerate README's YAML reference from `tbptt schema`")

    def test_every_command_is_documented(self):
        help_text = run([TBPTT, "--help"]).stdout
        commands = re.findall(r"^  (\w+)\s{2,}", help_text.split("Subcommands:")[-1], re.M)
        self.assertGreaterEqual(len(commands), 5, help_text)
        for command in commands:
            self.assertIn(f"tbptt {command}", self.readme, f"README does not document `tbptt {command}`")


if __name__ == "__main__":
    unittest.main()
