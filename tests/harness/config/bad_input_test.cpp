// The malformed-experiment corpus: every file in tests/bad_input/ must be rejected with an
// ExperimentError whose what() starts with exactly "FILE:LINE:COLUMN: " and contains a fragment
// that says what is wrong. Positions were worked out by hand from the files (1-based byte columns).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "harness/config/experiment.h"

namespace tbptt::harness {
namespace {

namespace fs = std::filesystem;

struct BadCase {
  const char* file;
  const char* fragment;
  int line;
  int column;
};

// clang-format off
const BadCase kCases[] = {
    // files that are not a YAML map
    {"empty.yaml", "the experiment is empty", 1, 1},
    {"only_comments.yaml", "the experiment is empty", 1, 1},
    {"top_level_list.yaml", "the top level must be a map of settings", 1, 1},
    {"top_level_scalar.yaml", "not just some words", 1, 1},
    {"multiple_documents.yaml", "a second YAML document starts here", 4, 1},
    {"non_utf8.yaml", "byte 0xE9 is not valid here; experiment files must be UTF-8", 2, 6},
    {"control_character.yaml", "byte 0x00 is not valid here", 1, 11},
    // syntax, as yaml-cpp reports it
    {"syntax_unclosed_flow.yaml", "YAML syntax error: end of map flow not found", 3, 6},  // at the ':' of the next line's key
    {"syntax_bad_indent.yaml", "YAML syntax error: illegal map value", 4, 8},
    {"syntax_tab_indent.yaml", "YAML syntax error: illegal map value", 3, 8},
    {"syntax_unterminated_string.yaml", "YAML syntax error: illegal EOF in scalar", 2, 12},  // end of the file
    {"deep_nesting.yaml", "nested deeper than 500 levels", 2, 1207},  // yaml-cpp has scanned to the end of the line
    {"duplicate_key_top.yaml", "duplicate key name (first at line 1, column 1)", 3, 1},
    {"duplicate_key_nested.yaml", "duplicate key k1 (first at line 4, column 3)", 6, 3},
    {"map_as_key.yaml", "map keys must be plain names, not a map", 2, 3},
    {"yaml_tag.yaml", "YAML tag tag:yaml.org,2002:float is not supported", 3, 13},
    // keys
    {"unknown_top_key.yaml", "unknown key modle; did you mean model?", 3, 1},
    {"misspelt_nested_key.yaml", "unknown key model.hiden; did you mean model.hidden?", 5, 3},
    {"misspelt_section.yaml", "unknown key train.optimiser; did you mean train.optimizer?", 4, 3},
    {"key_in_wrong_section.yaml", "unknown key train.k1; did you mean tbptt.k1?", 3, 20},
    {"unknown_key_no_suggestion.yaml", "model takes: cell, layers, hidden, embedding, output, init_scale, precision", 3, 9},
    {"dotted_key.yaml", "write nested maps, not dotted keys", 3, 1},
    {"missing_name.yaml", "name is required", 1, 1},
    {"missing_source.yaml", "data.source is required: one of random_tokens,", 3, 3},
    {"section_not_map.yaml", "tbptt must be a map of settings (k1, k2, carry_state, seq_len, drop_last); got 10", 3, 8},
    // types and ranges
    {"bad_name_chars.yaml", "name must be 1 to 128 characters", 1, 7},
    {"enum_typo.yaml", "model.cell must be one of lstm, gru, rnn_tanh; got lstn (did you mean lstm?)", 3, 15},
    {"source_typo.yaml", "got delayed_recal (did you mean delayed_recall?)", 3, 11},
    {"wrong_type_string_for_int.yaml", "model.hidden must be an integer in 1..65536; got big", 3, 17},
    {"wrong_type_float_for_int.yaml", "model.layers must be an integer in 1..64; got 1.5", 3, 17},
    {"quoted_number.yaml", "got the quoted string \"10\" (write numbers without quotes)", 3, 13},
    {"yes_is_not_bool.yaml", "tbptt.carry_state must be true or false; got yes", 3, 22},
    {"list_for_scalar.yaml", "got a list (to try several values, put the key under sweep.grid)", 3, 13},
    {"null_value.yaml", "model.hidden must be an integer in 1..65536; got nothing (null)", 4, 3},
    {"deep_nesting_value.yaml", "model.hidden must be an integer in 1..65536; got a map", 4, 11},
    {"negative_batch.yaml", "train.batch must be an integer >= 1; got -4", 3, 16},
    {"zero_k1.yaml", "tbptt.k1 must be an integer >= 1; got 0", 3, 13},
    {"huge_integer.yaml", "(beyond the 64-bit integer range)", 3, 17},
    {"layers_out_of_range.yaml", "model.layers must be an integer in 1..64; got 1000", 3, 17},
    {"nan_learning_rate.yaml", "train.optimizer.lr must be a finite number > 0; got .nan (not finite)", 4, 19},
    {"inf_clip.yaml", "train.clip_grad_norm must be a finite number >= 0; got .inf (not finite)", 3, 25},
    {"overflowing_float.yaml", "train.max_time must be a finite number >= 0; got 1e999 (not finite)", 3, 19},
    {"momentum_one.yaml", "train.optimizer.momentum must be a finite number in [0, 1); got 1.0", 4, 36},
    {"split_not_summing.yaml", "data.split must sum to 1 (within 1e-9); got 0.9 + 0.05 + 0.1 = 1.05", 2, 47},
    {"split_negative.yaml", "each data.split fraction must be a finite number in [0, 1]; got 1.1", 2, 48},
    {"eval_splits_unknown.yaml", "each eval.splits entry must be one of valid, test; got train", 3, 24},
    // rules between settings
    {"k2_less_than_k1.yaml", "tbptt.k2 = 10 must be >= tbptt.k1 = 20", 5, 7},
    {"k1_greater_than_seq_len.yaml", "tbptt.k1 = 50 must be <= tbptt.seq_len = 20", 3, 13},
    {"batch_not_divisible.yaml", "train.batch = 10 must be divisible by parallel.ranks_per_run = 4", 3, 16},
    {"epochs_and_steps.yaml", "set train.epochs or train.steps, not both", 5, 10},
    {"lag_with_text.yaml", "data.lag does not apply to data.source = text (it applies to: delayed_recall)", 5, 8},
    {"path_with_brown.yaml", "data.path does not apply to data.source = brown (it applies to: text)", 2, 29},
    {"min_count_at_char_level.yaml", "data.min_count does not apply to data.level = char (it applies to: word)", 2, 51},
    {"embedding_with_real_inputs.yaml", "model.embedding does not apply to data.source = sine", 3, 20},
    {"momentum_with_adam.yaml", "train.optimizer.momentum does not apply to train.optimizer.name = adam (it applies to: sgd)", 4, 37},
    {"text_without_path.yaml", "data.path is required when data.source = text", 3, 3},
    {"valid_path_without_test_path.yaml", "data.valid_path needs data.test_path too", 5, 15},
    {"bengio_split_with_text.yaml", "data.split = bengio2003 applies only to data.source = brown", 2, 47},
    {"fidelity_horizon_too_short.yaml", "fidelity.horizon = 20 must be > tbptt.k2 = 20 when fidelity.every > 0", 4, 33},
    {"nesterov_without_momentum.yaml", "train.optimizer.nesterov = true needs train.optimizer.momentum > 0", 4, 36},
    // sweeps
    {"sweep_unknown_key.yaml", "unknown key tbptt.k in sweep.grid; did you mean tbptt.k1?", 5, 5},
    {"sweep_unknown_field.yaml", "unknown key sweep.gird; did you mean sweep.grid?", 4, 3},
    {"sweep_bad_element.yaml", "model.hidden must be an integer in 1..65536; got -1", 5, 29},
    {"sweep_not_a_list.yaml", "sweep.grid.tbptt.k1 must be a non-empty list of values; got 5", 4, 20},
    {"sweep_empty_list.yaml", "sweep.grid.tbptt.k1 must be a non-empty list of values; got an empty list", 4, 20},
    {"sweep_key_twice.yaml", "tbptt.k1 is swept twice (also at line 4, column 20)", 5, 9},
    {"sweep_name.yaml", "name cannot be swept", 4, 10},
    {"zip_unequal_lengths.yaml", "train.batch has 2 values but tbptt.k1 has 3", 6, 18},
    {"seeds_negative.yaml", "seed must be an integer >= 0; got -3", 4, 17},
    {"sweep_impossible_run.yaml", "run 3 of 3 (tbptt.k1=40) is impossible: tbptt.k2 = 20 must be >= tbptt.k1 = 40", 3, 13},
    {"all_runs_impossible.yaml", "all 2 runs of the sweep are impossible; run 1 of 2 (tbptt.k1=5)", 3, 13},
    {"sweep_repeated_value.yaml", "runs 1 and 3 of the sweep resolve to the same configuration (tbptt.k1=5)", 4, 3},
    {"sweep_too_large.yaml", "the sweep expands to 10000000 runs", 4, 3},
};
// clang-format on

std::string error_of(const std::string& path) {
  try {
    Experiment::load(path);
  } catch (const ExperimentError& e) {
    return e.what();
  }
  return "(accepted)";
}

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, IsRejectedAtTheExactPosition) {
  const BadCase& c = GetParam();
  const std::string path = std::string(TBPTT_BAD_INPUT_DIR) + "/" + c.file;
  const std::string what = error_of(path);
  const std::string prefix = path + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
  EXPECT_EQ(what.substr(0, prefix.size()), prefix) << what;
  EXPECT_NE(what.find(c.fragment), std::string::npos) << what;
}

std::string case_name(const ::testing::TestParamInfo<BadCase>& info) {
  std::string name = fs::path(info.param.file).stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(kCases), case_name);

TEST(BadInputCorpus, EveryFileHasExactlyOneRowAndThereAreAtLeastForty) {
  std::set<std::string> files, rows;
  for (const auto& entry : fs::directory_iterator(TBPTT_BAD_INPUT_DIR))
    if (entry.path().extension() == ".yaml") files.insert(entry.path().filename().string());
  for (const BadCase& c : kCases) EXPECT_TRUE(rows.insert(c.file).second) << "two rows for " << c.file;
  EXPECT_EQ(files, rows);
  EXPECT_GE(files.size(), 40u);
}

// A 1 MB line is generated rather than checked in: the name is too long to be a file name.
TEST(BadInputGenerated, OneMegabyteLine) {
  const fs::path path = fs::temp_directory_path() / ("tbptt_one_megabyte_line_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "name: " << std::string(1 << 20, 'a') << "\ndata: {source: copy}\n";
  }
  const std::string what = error_of(path.string());
  fs::remove(path);
  EXPECT_EQ(what.rfind(path.string() + ":1:7: name must be 1 to 128 characters", 0), 0u) << what.substr(0, 300);
  EXPECT_NE(what.find("(1048576 characters)"), std::string::npos);
  EXPECT_LT(what.size(), 400u) << "the message must not repeat the megabyte";
}

TEST(BadInputGenerated, MissingFileAndDirectoryNameOnlyThePath) {
  const std::string missing = std::string(TBPTT_BAD_INPUT_DIR) + "/no_such_experiment.yaml";
  EXPECT_EQ(error_of(missing), missing + ": no such file");
  EXPECT_EQ(error_of(TBPTT_BAD_INPUT_DIR), std::string(TBPTT_BAD_INPUT_DIR) + ": is a directory; expected an experiment YAML file");
}

TEST(BadInputGenerated, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  const fs::path path = fs::temp_directory_path() / ("tbptt_unreadable_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "name: demo\n";
  fs::permissions(path, fs::perms::none);
  const std::string what = error_of(path.string());
  fs::remove(path);
  EXPECT_EQ(what.rfind(path.string() + ": cannot be read: ", 0), 0u) << what;
}

}  // namespace
}  // namespace tbptt::harness
