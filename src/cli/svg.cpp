// Inline SVG charts for the HTML report (see svg.hpp). Coordinates are
// computed here; colours and fonts come from the page's stylesheet classes,
// so a chart never refers to anything outside the page.
#include "svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace trajc_cli {

namespace {

// Colour-blind-safe palette (Tableau 10), by series position.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr std::size_t kPaletteSize = sizeof kPalette / sizeof kPalette[0];

const char* colour(std::size_t i) { return kPalette[i % kPaletteSize]; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Long labels are cut for the drawing; the full text stays in <title> and
// data-label.
std::string short_label(const std::string& s, std::size_t max_chars) {
  if (s.size() <= max_chars) return s;
  std::size_t cut = max_chars - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;  // UTF-8 start
  return s.substr(0, cut) + "\xE2\x80\xA6";  // …
}

double largest(double max, const std::vector<double>& values) {
  if (max > 0) return max;
  double m = 0;
  for (double v : values) m = std::max(m, v);
  return m > 0 ? m : 1;
}

std::string svg_open(const std::string& id, int width, int height, const std::string& kind) {
  return "<svg class=\"chart\" data-chart=\"" + html_escape(id) + "\" data-kind=\"" + kind +
         "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(height) +
         "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">\n";
}

std::string datum_attributes(const Datum& d, const std::string& series) {
  std::string out = " data-label=\"" + html_escape(d.label) + "\" data-value=\"" +
                    html_escape(d.value_text) + "\"";
  if (!series.empty()) out += " data-series=\"" + html_escape(series) + "\"";
  return out;
}

std::string text(double x, double y, const std::string& s, const char* cls,
                 const char* anchor = "start") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" class=\"" + cls +
         "\" text-anchor=\"" + anchor + "\">" + html_escape(s) + "</text>\n";
}

// One horizontal bar with its value printed after it.
std::string hbar(const Datum& d, const std::string& series, double x0, double y, double width,
                 double height, const char* fill) {
  std::string out = "<rect class=\"bar\" x=\"" + num(x0) + "\" y=\"" + num(y) + "\" width=\"" +
                    num(width) + "\" height=\"" + num(height) + "\" fill=\"" + fill + "\"" +
                    datum_attributes(d, series) + "><title>" + html_escape(d.label) +
                    (series.empty() ? "" : " (" + html_escape(series) + ")") + ": " +
                    html_escape(d.shown) + "</title></rect>\n";
  return out + text(x0 + width + 6, y + height / 2 + 4, d.shown, "value");
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_number(double v, int digits) {
  if (!std::isfinite(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

std::string bar_chart(const std::string& id, const std::vector<Datum>& bars, double max) {
  constexpr int kWidth = 640, kLabelWidth = 210, kBarArea = 340, kRow = 24, kBar = 16;
  std::vector<double> values;
  for (const auto& b : bars) values.push_back(b.value);
  const double top = largest(max, values);
  const int height = static_cast<int>(bars.size()) * kRow + 8;
  std::string out = svg_open(id, kWidth, height, "bars");
  for (std::size_t i = 0; i < bars.size(); i++) {
    const double y = 4 + static_cast<double>(i) * kRow;
    out += text(kLabelWidth - 8, y + kBar / 2.0 + 4, short_label(bars[i].label, 28), "label", "end");
    const double w = std::max(0.0, bars[i].value) / top * kBarArea;
    out += hbar(bars[i], "", kLabelWidth, y, w, kBar, colour(0));
  }
  return out + "</svg>\n";
}

std::string grouped_bar_chart(const std::string& id, const std::vector<std::string>& categories,
                              const std::vector<Series>& series, double max) {
  constexpr int kWidth = 640, kLabelWidth = 130, kBarArea = 420, kBar = 14, kGap = 3, kGroupGap = 12;
  std::vector<double> values;
  for (const auto& s : series)
    for (const auto& p : s.points) values.push_back(p.value);
  const double top = largest(max, values);
  const int group = static_cast<int>(series.size()) * (kBar + kGap) + kGroupGap;
  const int height = static_cast<int>(categories.size()) * group + 8;
  std::string out = svg_open(id, kWidth, height, "grouped-bars");
  for (std::size_t c = 0; c < categories.size(); c++) {
    const double y0 = 4 + static_cast<double>(c) * group;
    out += text(kLabelWidth - 8, y0 + (group - kGroupGap) / 2.0 + 4, categories[c], "label", "end");
    for (std::size_t s = 0; s < series.size(); s++) {
      if (c >= series[s].points.size()) continue;
      const Datum& d = series[s].points[c];
      const double w = std::max(0.0, d.value) / top * kBarArea;
      out += hbar(d, series[s].name, kLabelWidth, y0 + static_cast<double>(s) * (kBar + kGap), w,
                  kBar, colour(s));
    }
  }
  return out + "</svg>\n";
}

std::string line_chart(const std::string& id, const std::vector<std::string>& categories,
                       const std::vector<Series>& series, double y_max, const char* y_format) {
  constexpr int kWidth = 640, kHeight = 300, kLeft = 64, kRight = 620, kTop = 16, kBottom = 262;
  std::vector<double> values;
  for (const auto& s : series)
    for (const auto& p : s.points) values.push_back(p.value);
  const double top = largest(y_max, values);
  const std::size_t n = categories.size();
  auto x_at = [&](std::size_t i) {
    return n <= 1 ? (kLeft + kRight) / 2.0
                  : kLeft + (kRight - kLeft) * static_cast<double>(i) / static_cast<double>(n - 1);
  };
  auto y_at = [&](double v) { return kBottom - (kBottom - kTop) * std::max(0.0, v) / top; };

  std::string out = svg_open(id, kWidth, kHeight, "lines");
  for (int t = 0; t <= 4; t++) {  // grid and y labels
    const double v = top * t / 4, y = y_at(v);
    out += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kRight) + "\" y1=\"" +
           num(y) + "\" y2=\"" + num(y) + "\"/>\n";
    char label[64];
    std::snprintf(label, sizeof label, y_format, v);
    out += text(kLeft - 6, y + 4, label, "axis", "end");
  }
  // At most ~12 x labels, so dates stay readable.
  const std::size_t step = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < n; i++)
    if (i % step == 0 || i + 1 == n) out += text(x_at(i), kBottom + 18, categories[i], "axis", "middle");
  for (std::size_t s = 0; s < series.size(); s++) {
    std::string points;
    for (std::size_t i = 0; i < series[s].points.size() && i < n; i++)
      points += (points.empty() ? "" : " ") + num(x_at(i)) + "," + num(y_at(series[s].points[i].value));
    out += "<polyline class=\"line\" fill=\"none\" stroke=\"" + std::string(colour(s)) +
           "\" points=\"" + points + "\" data-series=\"" + html_escape(series[s].name) + "\"/>\n";
    for (std::size_t i = 0; i < series[s].points.size() && i < n; i++) {
      const Datum& d = series[s].points[i];
      out += "<circle class=\"point\" r=\"3.5\" cx=\"" + num(x_at(i)) + "\" cy=\"" +
             num(y_at(d.value)) + "\" fill=\"" + colour(s) + "\"" +
             datum_attributes(d, series[s].name) + "><title>" + html_escape(series[s].name) +
             ", " + html_escape(d.label) + ": " + html_escape(d.shown) + "</title></circle>\n";
    }
  }
  return out + "</svg>\n";
}

std::string legend(const std::vector<std::string>& names) {
  std::string out = "<div class=\"legend\">";
  for (std::size_t i = 0; i < names.size(); i++)
    out += "<span><i style=\"background:" + std::string(colour(i)) + "\"></i>" +
           html_escape(names[i]) + "</span>";
  return out + "</div>\n";
}

}  // namespace trajc_cli
