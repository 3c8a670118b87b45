#include "harness/config/source_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
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

Location location_of(std::string_view text, size_t offset, const std::string& origin) {
  const std::string_view before = text.substr(0, offset);
  const size_t newline = before.rfind('\n');
  return {origin, 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n')),
          static_cast<int>(newline == std::string_view::npos ? offset + 1 : offset - newline)};
}

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

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
  const Location where = has_lines ? location_of(text, bad, origin) : Location{origin};
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

// What a text's event stream shows before any node is built, because two inputs break
// YAML::LoadAll / YAML::Load themselves (found by tests/fuzz):
//   * a token no rule consumes (",", "&a , -") makes LoadAll loop forever, allocating a null
//     document per turn (yaml-cpp issue #1040, fixed upstream after 0.8): such a "document"
//     starts where the previous one did;
//   * an alias builds shared nodes: `&a [*a]` is a cycle (convert() overflows the stack) and
//     nested aliases grow exponentially (a "billion laughs" of a few hundred bytes takes gigabytes).
// So the stream is scanned first -- the roots of at most three documents and the first alias of
// the first -- and only a text with neither problem is loaded.
class DocumentScan : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> roots;    // where each document's root node starts
  std::optional<YAML::Mark> alias;  // the first *alias of the first document

  void OnDocumentStart(const YAML::Mark&) override { expecting_root_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    node(mark);
    if (!alias && roots.size() == 1) alias = mark;
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

  bool stuck() const { return roots.size() >= 2 && roots[roots.size() - 1].pos == roots[roots.size() - 2].pos; }

 private:
  void node(const YAML::Mark& mark) {
    if (expecting_root_) roots.push_back(mark);
    expecting_root_ = false;
  }
  bool expecting_root_ = false;
};

// The token at `pos` as a message shows it: up to the next blank.
std::string token_at(std::string_view text, size_t pos) {
  const std::string_view rest = text.substr(std::min(pos, text.size()));
  return quote_for_message(std::string(rest.substr(0, rest.find_first_of(" \t\r\n"))));
}

// Parses one YAML document (null when the text holds none).
SourceNode parse_document(std::string_view text, const std::string& origin) {
  const std::string owned(text);
  YAML::Node doc;
  try {
    std::istringstream in(owned);
    YAML::Parser parser(in);
    DocumentScan scan;
    while (scan.roots.size() < 3 && !scan.stuck() && parser.HandleNextDocument(scan)) {
    }
    if (scan.stuck())
      throw ExperimentError(located(scan.roots.back(), origin),
                            "YAML syntax error: unexpected " + token_at(text, static_cast<size_t>(scan.roots.back().pos)));
    if (scan.alias)
      throw ExperimentError(located(*scan.alias, origin), "YAML aliases (*name) are not supported; write the value itself");
    if (scan.roots.size() > 1)
      throw ExperimentError(located(scan.roots[1], origin),
                            "a second YAML document starts here; an experiment file holds exactly one");
    if (scan.roots.empty()) {
      SourceNode nothing;
      nothing.where = {origin, 1, 1};
      return nothing;
    }
    doc = YAML::Load(owned);
  } catch (const YAML::DeepRecursion& e) {
    throw ExperimentError(located(e.mark, origin), "nested deeper than " + std::to_string(e.depth()) +
                                                       " levels; an experiment is at most 5 levels deep");
  } catch (const YAML::Exception& e) {
    throw ExperimentError(located(e.mark, origin), "YAML syntax error: " + e.msg);
  }
  return convert(doc, origin);
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
  if (text.size() > kMaxExperimentBytes)  // before anything else looks at it: a 100 MB line costs yaml-cpp ~30 s
    throw ExperimentError(location_of(text, kMaxExperimentBytes, origin),
                          "the experiment file goes on beyond " + std::to_string(kMaxExperimentBytes >> 20) +
                              " MiB; an experiment is a short YAML text (is this the right file?)");
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
  // open() never blocks (O_NONBLOCK: a FIFO without a writer would wait forever), and the file
  // it opened -- not whatever the name pointed at a moment earlier -- must be a regular file:
  // a FIFO or a device (/dev/zero) has no end, and under mpirun every rank reads the file again.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw ExperimentError({path}, "no such file");
    throw ExperimentError({path}, std::string("cannot be read: ") + std::strerror(error));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st = {};
  if (::fstat(fd, &st) != 0) throw ExperimentError({path}, std::string("cannot be read: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ExperimentError({path}, "is a directory; expected an experiment YAML file");
  if (!S_ISREG(st.st_mode))
    throw ExperimentError({path}, std::string("is ") + file_kind(st.st_mode) + ", not a regular file; expected an experiment YAML file");
  // One byte more than the limit is enough to know the file is too large (parse_experiment says where).
  std::string bytes(kMaxExperimentBytes + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ExperimentError({path}, std::string("cannot be read: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return parse_experiment(bytes, path);
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
