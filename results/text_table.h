#pragma once
// A titled table of text cells, rendered as an aligned terminal table, CSV or Markdown.
// Columns whose cells are all numbers (or empty) are right-aligned in the terminal table.

#include <ostream>
#include <string>
#include <vector>

namespace tbptt::results {

struct TextTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as header
};

enum class ReportFormat;

void render(const TextTable& table, ReportFormat format, std::ostream& out);

}  // namespace tbptt::results
