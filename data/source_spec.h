#pragma once
// What the `data:` section of an experiment says, one field per YAML key (data/README.md documents
// each: type, default, allowed values, which sources read it). The harness fills it from YAML and
// resolves relative paths; validate() is the single place that checks it.

#include <cstdint>
#include <string>
#include <vector>

namespace tbptt::data {

// data.split: three fractions of the token sequence, or a named split ("bengio2003", brown only).
struct SplitSpec {
  std::vector<double> fractions{0.9, 0.05, 0.05};  // train, valid, test; used when name is empty
  std::string name;                                 // "" or "bengio2003"
};

struct SourceSpec {
  std::string source;                 // data.source (required)
  int64_t seed = 0;                   // data.seed (the harness defaults it to the experiment's seed)
  int64_t length = 100000;            // data.length: train steps per epoch (generated sources)
  int64_t valid_length = 10000;       // data.valid_length
  int64_t test_length = 10000;        // data.test_length
  int vocab = 5000;                   // data.vocab: random_tokens V
  int input_dim = 10;                 // data.input_dim: random_regression I
  int output_dim = 1;                 // data.output_dim: random_regression O
  int alphabet = 8;                   // data.alphabet: delayed_recall / copy symbols A
  int lag = 10;                       // data.lag: delayed_recall
  int sequence_length = 100;          // data.sequence_length: adding L
  int copy_length = 10;               // data.copy_length: copy, symbols to remember
  int delay = 50;                     // data.delay: copy, blanks between the symbols and the marker
  double period = 25;                 // data.period: sine, steps per period
  int tau = 17;                       // data.tau: mackey_glass delay
  std::string path;                   // data.path: text corpus (train split, or the whole corpus)
  std::string valid_path, test_path;  // data.valid_path, data.test_path: explicit files (both or neither)
  std::string level = "char";         // data.level: char | word (text, brown)
  SplitSpec split;                    // data.split
  int min_count = 1;                  // data.min_count: word level
  int max_vocab = 0;                  // data.max_vocab: word level, 0 = no limit, else V incl. <unk> and <eos>
  std::string cache = "data/cache";   // data.cache: brown, the folder holding the npm package
};

// "bengio2003", or the fractions as "[0.9, 0.05, 0.05]" (for error messages).
std::string to_string(const SplitSpec& split);

// The sources data.source accepts, in the order the README lists them.
const std::vector<std::string>& source_names();

// Throws tbptt::ConfigError naming the first bad key. Files are checked when they are read.
void validate(const SourceSpec& spec);

}  // namespace tbptt::data
