#include "harness/config/source_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace tbptt::harness {

const SourceNode::Entry* SourceNode::find(std::string_view key) const {
  for (const Entry& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

SourceNode::Entry* SourceNode::find(std::string_view key) {
  return const_cast<Entry*>(std::as_const(*this).find(key));
}

std::string SourceNode::describe() const {
  switch (kind) {
    case Kind::null: return "nothing (null)";
    case Kind::list: return items.empty() ? "an empty list" : "a list";
    case Kind::map: return entries.empty() ? "an empty map" : "a map";
    case Kind::scalar: break;
  }
  if (quoted) return "the quoted string \"" + quote_for_message(text) + "\"";
  return quote_for_message(text);
}

namespace {

// Offset of the first byte that is not well-formed UTF-8 (or is a control character YAML
// forbids), or npos. yaml-cpp would silently turn such bytes into U+FFFD.
size_t first_bad_byte(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return i;
      if (c == 0x7F) return i;
      ++i;
      continue;
    }
    const int n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;  // continuation bytes
    if (n == 0) return i;
    uint32_t cp = c & (0x7F >> (n + 1));
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;  // overlong, surrogate
    i += n + 1;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view text, const std::string& origin, bool has_lines) {
  const size_t bad = first_bad_byte(text);
  if (bad == std::string_view::npos) return;
  Location where{origin};
  if (has_lines) {
    const std::string_view before = text.substr(0, bad);
    const size_t newline = before.rfind('\n');
    where.line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    where.column = static_cast<int>(newline == std::string_view::npos ? bad + 1 : bad - newline);
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
  throw ExperimentError(where, std::string("byte ") + hex +
                                   " is not valid here; experiment files must be UTF-8 text without control characters");
}

Location located(const YAML::Mark& mark, const std::string& origin) {
  if (mark.line < 0) return {origin};
  return {origin, mark.line + 1, mark.column + 1};
}

SourceNode convert(const YAML::Node& node, const std::string& origin) {
  SourceNode out;
  out.where = located(node.Mark(), origin);
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return out;
    case YAML::NodeType::Scalar: {
      out.kind = SourceNode::Kind::scalar;
      out.text = node.Scalar();
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") {
        out.quoted = true;
      } else if (tag != "?") {
        throw ExperimentError(out.where, "YAML tag " + quote_for_message(tag) +
                                             " is not supported; write the plain value");
      }
      return out;
    }
    case YAML::NodeType::Sequence:
      out.kind = SourceNode::Kind::list;
      for (const YAML::Node& item : node) out.items.push_back(convert(item, origin));
      return out;
    case YAML::NodeType::Map:
      break;
  }
  out.kind = SourceNode::Kind::map;
  std::unordered_map<std::string, Location> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const Location key_where = located(it->first.Mark(), origin);
    if (!it->first.IsScalar())
      throw ExperimentError(key_where, "map keys must be plain names, not " +
                                           std::string(it->first.IsMap() ? "a map" : it->first.IsSequence() ? "a list" : "null"));
    const std::string key = it->first.Scalar();
    if (auto [first, fresh] = seen.emplace(key, key_where); !fresh)
      throw ExperimentError(key_where, "duplicate key " + quote_for_message(key) + " (first at line " +
                                           std::to_string(first->second.line) + ", column " +
                                           std::to_string(first->second.column) + "); each key may appear once");
    SourceNode value = convert(it->second, origin);
    if (value.kind == SourceNode::Kind::null) value.where = key_where;  // yaml-cpp marks an empty value at the next token
    out.entries.push_back({key, key_where, std::move(value)});
  }
  return out;
}

// Parses one YAML document (null when the text holds none).
SourceNode parse_document(std::string_view text, const std::string& origin) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    throw ExperimentError(located(e.mark, origin), "nested deeper than " + std::to_string(e.depth()) +
                                                       " levels; an experiment is at most 5 levels deep");
  } catch (const YAML::Exception& e) {
    throw ExperimentError(located(e.mark, origin), "YAML syntax error: " + e.msg);
  }
  if (docs.empty()) {
    SourceNode nothing;
    nothing.where = {origin, 1, 1};
    return nothing;
  }
  if (docs.size() > 1)
    throw ExperimentError(located(docs[1].Mark(), origin),
                          "a second YAML document starts here; an experiment file holds exactly one");
  return convert(docs[0], origin);
}

void relocate(SourceNode& node, const Location& where) {
  node.where = where;
  for (SourceNode& item : node.items) relocate(item, where);
  for (SourceNode::Entry& e : node.entries) {
    e.key_where = where;
    relocate(e.value, where);
  }
}

}  // namespace

SourceNode parse_experiment(std::string_view text, const std::string& origin) {
  check_utf8(text, origin, true);
  SourceNode root = parse_document(text, origin);
  if (root.kind == SourceNode::Kind::null || (root.kind == SourceNode::Kind::map && root.entries.empty()))
    throw ExperimentError({origin, 1, 1}, "the experiment is empty; it needs at least `name` and `data: {source: ...}`");
  if (root.kind != SourceNode::Kind::map)
    throw ExperimentError(root.where, "the top level must be a map of settings (name: ..., data: ...), not " +
                                          root.describe());
  return root;
}

SourceNode read_experiment_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ExperimentError({path}, "no such file");
  if (fs::is_directory(status)) throw ExperimentError({path}, "is a directory; expected an experiment YAML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ExperimentError({path}, std::string("cannot be read: ") + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw ExperimentError({path}, "cannot be read (I/O error)");
  return parse_experiment(bytes.str(), path);
}

SourceNode parse_set_value(std::string_view text, const std::string& origin) {
  check_utf8(text, origin, false);
  SourceNode value;
  try {
    value = parse_document(text, origin);
  } catch (const ExperimentError& e) {
    throw ExperimentError({origin}, e.message());  // a position inside a one-line value helps nobody
  }
  relocate(value, {origin});
  return value;
}

}  // namespace tbptt::harness
