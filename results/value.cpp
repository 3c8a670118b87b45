#include "results/value.h"

#include <charconv>

namespace tbptt::results {

std::string to_text(const Value& value) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char text[32];
      const auto result = std::to_chars(text, text + sizeof text, d);  // shortest round trip
      return std::string(text, result.ptr);
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string text = "[";
      for (size_t i = 0; i < list.size(); ++i) text += (i ? ", " : "") + list[i];
      return text + "]";
    }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace tbptt::results
