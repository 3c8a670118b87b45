#pragma once
// Typed errors shared by every library.
//
// A ConfigError names the setting (as its dotted YAML key, e.g. "tbptt.k2"), the offending value
// and what is allowed. The harness maps the setting back to its line in the experiment file, so
// libraries that know nothing of YAML still produce "file:line:column: ..." messages.

#include <stdexcept>
#include <string>

namespace tbptt {

class ConfigError : public std::invalid_argument {
 public:
  ConfigError(std::string setting, std::string value, std::string allowed)
      : std::invalid_argument(setting + " = " + value + ": " + allowed),
        setting_(std::move(setting)), value_(std::move(value)), allowed_(std::move(allowed)) {}

  const std::string& setting() const { return setting_; }  // dotted key, e.g. "model.hidden"
  const std::string& value() const { return value_; }      // the value as the user wrote it
  const std::string& allowed() const { return allowed_; }  // what would have been accepted

 private:
  std::string setting_, value_, allowed_;
};

}  // namespace tbptt
