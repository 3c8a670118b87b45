#pragma once
// An experiment as written: a tree of maps, lists and scalars, every node carrying its Location.
//
// yaml-cpp is used only to parse; its nodes are copied into this tree at once because
//   * yaml-cpp keeps the first of two equal keys silently -- the copy rejects the second one,
//   * `--set` values are spliced in and must say "--set KEY=VALUE" instead of a file position,
//   * yaml-cpp's node assignment aliases nodes, which makes in-place edits error-prone.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harness/config/experiment_error.h"

namespace tbptt::harness {

struct SourceNode {
  enum class Kind { null, scalar, list, map };
  struct Entry;

  Kind kind = Kind::null;
  std::string text;             // scalar text, without quotes
  bool quoted = false;          // written in quotes (or tagged !!str): a string, never a number
  Location where;               // of the value itself (a null value in a map: of its key)
  std::vector<SourceNode> items;  // list elements, in file order
  std::vector<Entry> entries;     // map entries, in file order, keys unique

  const Entry* find(std::string_view key) const;
  Entry* find(std::string_view key);
  std::string describe() const;  // for messages: "a map", "a list", "null", `the quoted string "10"`, `1e9`
};

struct SourceNode::Entry {
  std::string key;
  Location key_where;
  SourceNode value;
};

// The largest experiment accepted. Real ones are a few KB (a 100000-run zip sweep stays far below);
// anything larger is the wrong file, and yaml-cpp spends ~0.3 s and ~7 MB of memory per MB.
inline constexpr size_t kMaxExperimentBytes = size_t{16} << 20;

// Reads and parses an experiment file: it must exist, be a regular readable file of at most
// kMaxExperimentBytes, be UTF-8 and hold exactly one YAML document whose top level is a map.
// Never blocks on a FIFO nor reads a device without end. Throws ExperimentError otherwise.
SourceNode read_experiment_file(const std::string& path);

// The same checks for text already in memory; `origin` names it in messages.
SourceNode parse_experiment(std::string_view text, const std::string& origin);

// A `--set` value: any YAML (an empty value is null). Every node is located at `origin` as a whole.
SourceNode parse_set_value(std::string_view text, const std::string& origin);

}  // namespace tbptt::harness
