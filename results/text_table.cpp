#include "results/text_table.h"

#include <algorithm>
#include <cstdlib>

#include "results/report.h"

namespace tbptt::results {

namespace {

bool is_number(const std::string& cell) {
  if (cell.empty() || cell == "-") return true;
  char* end = nullptr;
  std::strtod(cell.c_str(), &end);
  return end == cell.c_str() + cell.size();
}

// One line per cell: tables and Markdown rows cannot hold line breaks.
std::string one_line(std::string cell) {
  std::replace(cell.begin(), cell.end(), '\n', ' ');
  return cell;
}

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string markdown_cell(const std::string& cell) {
  std::string escaped;
  for (char c : one_line(cell)) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

void render_terminal(const TextTable& table, std::ostream& out) {
  const size_t n = table.header.size();
  std::vector<size_t> width(n);
  std::vector<bool> numeric(n, true);
  for (size_t c = 0; c < n; ++c) width[c] = table.header[c].size();
  for (const auto& row : table.rows)
    for (size_t c = 0; c < n; ++c) {
      width[c] = std::max(width[c], one_line(row[c]).size());
      numeric[c] = numeric[c] && is_number(row[c]);
    }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < n; ++c) {
      const std::string cell = one_line(cells[c]);
      const std::string pad(width[c] - cell.size(), ' ');
      const bool last = c + 1 == n;
      text += numeric[c] ? pad + cell : cell + (last ? "" : pad);
      if (!last) text += "  ";
    }
    out << text << "\n";
  };
  out << table.title << "\n";
  line(table.header);
  for (const auto& row : table.rows) line(row);
  out << "\n";
}

}  // namespace

void render(const TextTable& table, ReportFormat format, std::ostream& out) {
  switch (format) {
    case ReportFormat::table:
      render_terminal(table, out);
      return;
    case ReportFormat::csv: {
      out << "# " << table.title << "\n";
      auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << csv_cell(cells[c]);
        out << "\n";
      };
      line(table.header);
      for (const auto& row : table.rows) line(row);
      out << "\n";
      return;
    }
    case ReportFormat::markdown: {
      out << "### " << table.title << "\n\n";
      auto line = [&](const std::vector<std::string>& cells) {
        out << "|";
        for (const auto& cell : cells) out << " " << markdown_cell(cell) << " |";
        out << "\n";
      };
      line(table.header);
      out << "|";
      for (size_t c = 0; c < table.header.size(); ++c) out << " --- |";
      out << "\n";
      for (const auto& row : table.rows) line(row);
      out << "\n";
      return;
    }
  }
}

}  // namespace tbptt::results
