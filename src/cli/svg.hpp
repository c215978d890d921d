// Charts as inline SVG for the HTML report: horizontal bars, grouped bars,
// lines. Pure string building (no database, no I/O), so a page is
// self-contained: no script, no font or image from anywhere else.
//
// Every drawn datum carries data-* attributes (data-label, data-series,
// data-value with the exact value given) so a test can read the numbers back
// from the browser's DOM. Never put unescaped caller text into the markup:
// every label goes through html_escape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trajc_cli {

// & < > " ' escaped: safe in element text and in quoted attributes.
std::string html_escape(std::string_view s);

// One datum: `value` places it, `value_text` is what data-value says (the
// server's exact text), `shown` what the chart prints next to it.
struct Datum {
  std::string label;
  double value = 0;
  std::string value_text;
  std::string shown;
};

struct Series {
  std::string name;
  std::vector<Datum> points;  // one per category, in the chart's category order
};

// Horizontal bars, one per datum, longest label at the left. `max` 0 = the
// largest value; a chart of shares passes 1.
std::string bar_chart(const std::string& id, const std::vector<Datum>& bars, double max = 0);

// Bars grouped by category, one bar per series in each group (e.g. eval
// accuracy per qa_type for runs A and B). Every series has one point per
// category.
std::string grouped_bar_chart(const std::string& id, const std::vector<std::string>& categories,
                              const std::vector<Series>& series, double max = 0);

// Lines over evenly spaced categories (k of recall@k, days). `y_max` 0 =
// the largest value. `y_format` is a printf format for axis labels ("%.2f").
std::string line_chart(const std::string& id, const std::vector<std::string>& categories,
                       const std::vector<Series>& series, double y_max, const char* y_format);

// A legend for `series` coloured as the charts colour them (by position).
std::string legend(const std::vector<std::string>& names);

// "1.5", "0.25", "12": a number with at most `digits` decimals, trailing
// zeros dropped (axis labels and attribute values the tool computes itself).
std::string format_number(double v, int digits = 6);

}  // namespace trajc_cli
