#pragma once
// Where a setting came from, and the one error type of the experiment-config layer.
//
// Every message a user sees has the form `FILE:LINE:COLUMN: MESSAGE` (1-based line and byte
// column, like compilers), or `--set KEY=VALUE: MESSAGE` for a value given on the command line,
// so editors and terminals can jump to the offending spot.

#include <stdexcept>
#include <string>

namespace tbptt::harness {

struct Location {
  std::string origin;  // the experiment file's path, or "--set KEY=VALUE"
  int line = 0;        // 1-based; 0 = the origin as a whole (a file, or a --set argument)
  int column = 0;      // 1-based byte column

  std::string str() const;  // "origin:line:column", or "origin" when line == 0
};

class ExperimentError : public std::runtime_error {
 public:
  ExperimentError(Location where, std::string message);

  const Location& where() const { return where_; }
  const std::string& message() const { return message_; }  // what() without the location

 private:
  Location where_;
  std::string message_;
};

// A value as it may appear inside a message: one line of at most 40 bytes, so a 1 MB line stays readable.
std::string quote_for_message(const std::string& text);

}  // namespace tbptt::harness
