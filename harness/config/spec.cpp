#include "harness/config/spec.h"

#include <algorithm>
#include <span>

#include "harness/config/suggest.h"

namespace tbptt::harness {
namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string last_component(std::string_view key) { return std::string(key.substr(key.rfind('.') + 1)); }

// The nearest of three kinds of guesses (ties go to the first kind): a sibling in the same map
// ("hiden" -> model.hidden), a full dotted name ("tbptt.k" -> tbptt.k1), a setting elsewhere with
// that last component ("k1" at the top level -> tbptt.k1).
std::optional<std::string> suggest_key(const std::string& prefix, const std::string& key,
                                       const std::vector<std::string>& siblings) {
  std::optional<Suggestion> best;
  const auto consider = [&](std::string_view word, const std::string& candidate, const std::string& answer) {
    const auto near = closest(word, std::span(&candidate, 1));
    if (near && (!best || near->distance < best->distance)) best = Suggestion{answer, near->distance};
  };
  for (const std::string& s : siblings) consider(key, s, prefix.empty() ? s : prefix + "." + s);
  const std::string full = prefix.empty() ? key : prefix + "." + key;
  for (const Setting& s : settings()) {
    const std::string name(s.key);
    consider(full, name, name);
    consider(key, last_component(name), name);
  }
  if (!best) return std::nullopt;
  return best->text;
}

ExperimentError unknown_key(const Location& where, const std::string& prefix, const std::string& key,
                            const std::vector<std::string>& siblings) {
  const std::string full = prefix.empty() ? key : prefix + "." + key;
  if (const auto guess = suggest_key(prefix, key, siblings))
    return ExperimentError(where, "unknown key " + quote_for_message(full) + "; did you mean " + *guess + "?");
  return ExperimentError(where, "unknown key " + quote_for_message(full) + "; " +
                                    (prefix.empty() ? std::string("the top level") : prefix) + " takes: " + join(siblings));
}

class SpecReader {
 public:
  ExperimentSpec read(const SourceNode& root) {
    spec_.sections[""] = root.where;
    spec_.sweep_where = root.where;
    read_section(root, "");
    for (SweepAxis::Kind kind : {SweepAxis::Kind::seeds, SweepAxis::Kind::grid, SweepAxis::Kind::zip})
      for (SweepAxis& axis : axes_)
        if (axis.kind == kind) spec_.axes.push_back(std::move(axis));
    const bool named = std::any_of(spec_.plain.begin(), spec_.plain.end(),
                                   [](const Assigned& a) { return settings()[a.setting].key == "name"; });
    if (!named)
      throw ExperimentError(root.where, "name is required: " + describe_allowed(*find_setting("name")));
    return std::move(spec_);
  }

 private:
  void read_section(const SourceNode& map, const std::string& prefix) {
    std::vector<std::string> siblings = section_children(prefix);
    if (prefix.empty()) siblings.push_back("sweep");
    for (const SourceNode::Entry& e : map.entries) {
      const std::string key = prefix.empty() ? e.key : prefix + "." + e.key;
      if (prefix.empty() && e.key == "sweep") {
        read_sweep(e.value);
      } else if (e.key.find('.') != std::string::npos) {
        const size_t dot = e.key.find('.');
        throw ExperimentError(e.key_where, "write nested maps, not dotted keys: " + quote_for_message(e.key) +
                                               " is written as " + quote_for_message(e.key.substr(0, dot)) + ": {" +
                                               quote_for_message(e.key.substr(dot + 1)) + ": ...}");
      } else if (const auto index = setting_index(key)) {
        spec_.plain.push_back({*index, parse_value(settings()[*index], e.value), e.value.where});
      } else if (is_section(key)) {
        if (e.value.kind != SourceNode::Kind::map)
          throw ExperimentError(e.value.where, key + " must be a map of settings (" + join(section_children(key)) +
                                                   "); got " + e.value.describe());
        if (e.value.where.line > 0) spec_.sections[key] = e.value.where;  // not maps that a --set created
        read_section(e.value, key);
      } else {
        throw unknown_key(e.key_where, prefix, e.key, siblings);
      }
    }
  }

  void read_sweep(const SourceNode& sweep) {
    const std::vector<std::string> parts = {"grid", "zip", "seeds", "skip_invalid"};
    if (sweep.kind != SourceNode::Kind::map)
      throw ExperimentError(sweep.where, "sweep must be a map with some of " + join(parts) + "; got " + sweep.describe());
    spec_.sweep_where = sweep.where;
    for (const SourceNode::Entry& e : sweep.entries) {
      if (e.key == "grid" || e.key == "zip") {
        if (e.value.kind != SourceNode::Kind::map)
          throw ExperimentError(e.value.where, "sweep." + e.key + " must be a map of dotted key -> list of values; got " +
                                                   e.value.describe());
        for (const SourceNode::Entry& axis : e.value.entries)
          read_axis(e.key == "grid" ? SweepAxis::Kind::grid : SweepAxis::Kind::zip, "sweep." + e.key, axis);
      } else if (e.key == "seeds") {
        read_axis(SweepAxis::Kind::seeds, "sweep", {"seed", e.key_where, e.value});
      } else if (e.key == "skip_invalid") {
        const Setting flag{.key = "sweep.skip_invalid", .type = Type::boolean};
        spec_.skip_invalid = std::get<bool>(parse_value(flag, e.value));
      } else {
        const auto guess = closest(e.key, parts);
        throw ExperimentError(e.key_where, "unknown key " + quote_for_message("sweep." + e.key) + "; " +
                                               (guess ? "did you mean sweep." + guess->text + "?" : "sweep takes: " + join(parts)));
      }
    }
  }

  void read_axis(SweepAxis::Kind kind, const std::string& where_in, const SourceNode::Entry& e) {
    const std::string list_name = kind == SweepAxis::Kind::seeds ? "sweep.seeds" : where_in + "." + e.key;
    const auto index = setting_index(e.key);
    if (!index) {
      const std::string guess = suggest_key("", e.key, {}).value_or("");
      throw ExperimentError(e.key_where, "unknown key " + quote_for_message(e.key) + " in " + where_in + "; " +
                                             (guess.empty() ? "sweep keys are dotted setting names such as tbptt.k1"
                                                            : "did you mean " + guess + "?"));
    }
    if (e.key == "name") throw ExperimentError(e.key_where, "name cannot be swept: it names the experiment's files");
    for (const SweepAxis& other : axes_)
      if (other.setting == *index)
        throw ExperimentError(e.key_where, e.key + " is swept twice (also at " +
                                               (other.where.line > 0 ? "line " + std::to_string(other.where.line) + ", column " +
                                                                           std::to_string(other.where.column)
                                                                     : other.where.origin) +
                                               ")");
    if (e.value.kind != SourceNode::Kind::list || e.value.items.empty())
      throw ExperimentError(e.value.where, list_name + " must be a non-empty list of values; got " + e.value.describe());
    SweepAxis axis{kind, *index, {}, e.value.where};
    for (const SourceNode& item : e.value.items)
      axis.values.push_back({*index, parse_value(settings()[*index], item), item.where});
    axes_.push_back(std::move(axis));
  }

  ExperimentSpec spec_;
  std::vector<SweepAxis> axes_;  // in file order; read() orders them seeds, grid, zip
};

}  // namespace

Location ExperimentSpec::locate(std::string_view key) const {
  for (const SweepAxis& axis : axes)
    if (settings()[axis.setting].key == key) return axis.where;
  for (const Assigned& a : plain)
    if (settings()[a.setting].key == key) return a.where;
  std::string section(key);
  while (!section.empty()) {
    const size_t dot = section.rfind('.');
    section.resize(dot == std::string::npos ? 0 : dot);
    if (const auto it = sections.find(section); it != sections.end()) return it->second;
  }
  const auto top = sections.find("");
  return top == sections.end() ? Location{} : top->second;
}

ExperimentSpec read_spec(const SourceNode& root) { return SpecReader().read(root); }

}  // namespace tbptt::harness
