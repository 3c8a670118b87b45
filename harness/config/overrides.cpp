#include "harness/config/overrides.h"

#include <string>
#include <vector>

namespace tbptt::harness {
namespace {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // sweep.grid.tbptt.k1 -> {sweep, grid, tbptt.k1}
  if (parts.size() > 3 && parts[0] == "sweep" && (parts[1] == "grid" || parts[1] == "zip")) {
    for (size_t i = 3; i < parts.size(); ++i) parts[2] += "." + parts[i];
    parts.resize(3);
  }
  return parts;
}

}  // namespace

void apply_set(SourceNode& root, std::string_view argument) {
  // Messages show the argument as quote_for_message does any value: one line of at most 40 bytes.
  const Location here{"--set " + quote_for_message(std::string(argument))};
  const size_t eq = argument.find('=');
  if (eq == std::string_view::npos)
    throw ExperimentError(here, "expected --set dotted.key=value, e.g. --set tbptt.k1=20");
  const std::string_view key = argument.substr(0, eq);
  const std::vector<std::string> parts = split_key(key);
  for (const std::string& part : parts)
    if (part.empty())
      throw ExperimentError(here, "'" + quote_for_message(std::string(key)) + "' is not a dotted key such as tbptt.k1");
  SourceNode value = parse_set_value(argument.substr(eq + 1), here.origin);

  SourceNode* map = &root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (i ? "." : "") + parts[i];
    SourceNode::Entry* entry = map->find(parts[i]);
    if (!entry) {
      SourceNode section;
      section.kind = SourceNode::Kind::map;
      section.where = here;
      map->entries.push_back({parts[i], here, std::move(section)});
      entry = &map->entries.back();
    } else if (entry->value.kind == SourceNode::Kind::null) {
      entry->value.kind = SourceNode::Kind::map;  // `sweep:` left empty in the file
    } else if (entry->value.kind != SourceNode::Kind::map) {
      throw ExperimentError(here, "cannot set " + quote_for_message(std::string(key)) + ": " + quote_for_message(path) +
                                      " is " + entry->value.describe() + " (" + entry->value.where.str() + "), not a map");
    }
    map = &entry->value;
  }
  if (SourceNode::Entry* entry = map->find(parts.back())) {
    entry->key_where = here;
    entry->value = std::move(value);
  } else {
    map->entries.push_back({parts.back(), here, std::move(value)});
  }
}

}  // namespace tbptt::harness
