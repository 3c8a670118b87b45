#include "harness/config/value.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "harness/config/suggest.h"

namespace tbptt::harness {
namespace {

constexpr size_t kMaxNameLength = 128;

std::string key_of(const Setting& s) { return std::string(s.key); }

ExperimentError invalid(const Setting& s, const SourceNode& node, const std::string& why = "") {
  return ExperimentError(node.where, key_of(s) + " must be " + describe_allowed(s) + "; got " + node.describe() + why);
}

bool is_integer_text(std::string_view t) {
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) t.remove_prefix(1);
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YAML 1.2 core floats, plus the spellings of infinity and NaN people actually type.
// std::nullopt = not a number at all; +-inf / nan are returned as such.
std::optional<double> read_float(std::string_view t) {
  std::string lower(t);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool negative = !lower.empty() && lower[0] == '-';
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  if (body == ".inf" || body == "inf" || body == "infinity") return negative ? -INFINITY : INFINITY;
  if (body == ".nan" || body == "nan") return NAN;
  // digits with an optional fraction and exponent: no hex, no leading/trailing junk
  const bool digits_only = !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '-' || c == '+';
  });
  if (!digits_only || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) return std::nullopt;
  double x = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), x, std::chars_format::general);
  if (end != body.data() + body.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) x = body.find("e-") == std::string_view::npos ? INFINITY : 0.0;  // 1e999, 1e-999
  else if (ec != std::errc()) return std::nullopt;
  return negative ? -x : x;
}

bool in_range(const Setting& s, double x) {
  const bool above = s.min_open ? x > s.min : x >= s.min;
  const bool below = s.max_open ? x < s.max : x <= s.max;
  return above && below;
}

void require_scalar(const Setting& s, const SourceNode& node) {
  if (node.kind != SourceNode::Kind::scalar) {
    std::string hint;
    if (node.kind == SourceNode::Kind::list && s.type != Type::choice_list && s.type != Type::split)
      hint = " (to try several values, put the key under sweep.grid)";
    throw invalid(s, node, hint);
  }
}

void reject_quoted(const Setting& s, const SourceNode& node, const char* what) {
  if (node.quoted) throw invalid(s, node, std::string(" (write ") + what + " without quotes)");
}

double parse_finite(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  reject_quoted(s, node, "numbers");
  const std::optional<double> x = read_float(node.text);
  if (!x) throw invalid(s, node);
  if (!std::isfinite(*x)) throw invalid(s, node, " (not finite)");
  if (!in_range(s, *x)) throw invalid(s, node);
  return *x;
}

int64_t parse_integer(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  reject_quoted(s, node, "numbers");
  int64_t v = 0;
  if (is_integer_text(node.text)) {
    std::string_view t = node.text;
    if (t[0] == '+') t.remove_prefix(1);
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec == std::errc::result_out_of_range) throw invalid(s, node, " (beyond the 64-bit integer range)");
  } else {
    const std::optional<double> x = read_float(node.text);
    constexpr double kExact = 9007199254740992.0;  // 2^53: every integer up to here is a double
    if (!x || !std::isfinite(*x) || std::trunc(*x) != *x || std::fabs(*x) > kExact) throw invalid(s, node);
    v = static_cast<int64_t>(*x);
  }
  if (!in_range(s, static_cast<double>(v))) throw invalid(s, node);
  return v;
}

bool parse_boolean(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  reject_quoted(s, node, "true and false");
  for (const char* t : {"true", "True", "TRUE"})
    if (node.text == t) return true;
  for (const char* f : {"false", "False", "FALSE"})
    if (node.text == f) return false;
  throw invalid(s, node);
}

std::vector<std::string> choices_of(const Setting& s) {
  std::vector<std::string> out;
  std::string_view rest = s.choices;
  while (!rest.empty()) {
    const size_t bar = rest.find('|');
    out.emplace_back(rest.substr(0, bar));
    rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
  }
  return out;
}

std::string parse_choice(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  const std::vector<std::string> choices = choices_of(s);
  if (std::find(choices.begin(), choices.end(), node.text) != choices.end()) return node.text;
  const auto near = closest(node.text, choices);
  throw invalid(s, node, near ? " (did you mean " + near->text + "?)" : "");
}

std::vector<std::string> parse_choice_list(const Setting& s, const SourceNode& node) {
  if (node.kind != SourceNode::Kind::list || node.items.empty()) throw invalid(s, node);
  const std::string entry = "each " + key_of(s) + " entry";
  const Setting element{.key = entry, .type = Type::choice, .choices = s.choices};
  std::vector<std::string> out;
  for (const SourceNode& item : node.items) {
    std::string v = parse_choice(element, item);
    if (std::find(out.begin(), out.end(), v) != out.end())
      throw ExperimentError(item.where, key_of(s) + " lists " + v + " twice; " + describe_allowed(s));
    out.push_back(std::move(v));
  }
  return out;
}

std::string parse_identifier(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  const std::string& t = node.text;
  const auto allowed_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  if (t.empty() || t.size() > kMaxNameLength || t[0] == '.' || t[0] == '-' || !std::all_of(t.begin(), t.end(), allowed_char))
    throw invalid(s, node, t.size() > kMaxNameLength ? " (" + std::to_string(t.size()) + " characters)" : "");
  return t;
}

std::string parse_path(const Setting& s, const SourceNode& node) {
  require_scalar(s, node);
  if (node.text.empty()) throw invalid(s, node);
  return node.text;
}

Value parse_split(const Setting& s, const SourceNode& node) {
  if (node.kind == SourceNode::Kind::scalar && node.text == "bengio2003") return node.text;
  if (node.kind != SourceNode::Kind::list || node.items.size() != 3) throw invalid(s, node);
  const std::string each = "each " + key_of(s) + " fraction";
  const Setting fraction{.key = each, .type = Type::number, .min = 0, .max = 1};
  std::vector<double> out;
  for (const SourceNode& item : node.items) out.push_back(parse_finite(fraction, item));
  const double sum = out[0] + out[1] + out[2];
  if (std::fabs(sum - 1.0) > 1e-9)
    throw ExperimentError(node.where, key_of(s) + " must sum to 1 (within 1e-9); got " + format_number(out[0]) + " + " +
                                          format_number(out[1]) + " + " + format_number(out[2]) + " = " + format_number(sum));
  return out;
}

// A string YAML reads back as the same string without quotes.
bool plain_safe(const std::string& t) {
  if (t.empty() || read_float(t) || is_integer_text(t)) return false;
  static const std::set<std::string> reserved = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"};
  std::string lower(t);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (reserved.count(lower)) return false;
  const auto safe_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '/' || c == '-' || c == '+';
  };
  const auto starts_like_number = [](char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+'; };
  return std::all_of(t.begin(), t.end(), safe_char) && !starts_like_number(t[0]);
}

std::string quoted(const std::string& t) {
  std::string out = "\"";
  for (unsigned char c : t) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02X", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Formatter {
  std::string operator()(int64_t v) const { return std::to_string(v); }
  std::string operator()(double v) const {
    std::string t = format_number(v);
    if (t.find_first_of(".en") == std::string::npos) t += ".0";  // stays a float when read back
    return t;
  }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const std::string& v) const { return plain_safe(v) ? v : quoted(v); }
  template <class T>
  std::string operator()(const std::vector<T>& list) const {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + (*this)(list[i]);
    return out + "]";
  }
};

}  // namespace

Value parse_value(const Setting& s, const SourceNode& node) {
  switch (s.type) {
    case Type::integer: return parse_integer(s, node);
    case Type::number: return parse_finite(s, node);
    case Type::boolean: return parse_boolean(s, node);
    case Type::identifier: return parse_identifier(s, node);
    case Type::path: return parse_path(s, node);
    case Type::choice: return parse_choice(s, node);
    case Type::choice_list: return parse_choice_list(s, node);
    case Type::split: return parse_split(s, node);
  }
  throw invalid(s, node);
}

std::string format_value(const Value& v) { return std::visit(Formatter{}, v); }

std::string format_number(double x) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace tbptt::harness
