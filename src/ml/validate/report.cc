#include "ml/validate/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ml/data/transaction.h"

namespace lathe::ml {
namespace {

constexpr int kW = 560, kH = 220, kPad = 36;

std::string Observed(const nlohmann::json& v) {
  if (v.is_null()) return "—";
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string Axis() {
  return fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#555"/><line x1="{0}" y1="{3}" x2="{0}" y2="{1}" stroke="#555"/>)",
                     kPad, kH - kPad, kW - 8, 8);
}

// Paired bars per bin: reference grey, current blue.
std::string Histogram(const nlohmann::json& chart) {
  std::vector<double> edges = chart["edges"], ref = chart["reference"], cur = chart["current"];
  double top = 0;
  for (size_t b = 0; b < ref.size(); ++b) top = std::max({top, ref[b], cur[b]});
  if (top <= 0) top = 1;
  const double plot_w = kW - kPad - 8, plot_h = kH - kPad - 8;
  const double slot = plot_w / static_cast<double>(ref.size());
  std::string svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)", kW, kH);
  svg += Axis();
  for (size_t b = 0; b < ref.size(); ++b) {
    double x = kPad + slot * static_cast<double>(b);
    double hr = plot_h * ref[b] / top, hc = plot_h * cur[b] / top;
    svg += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#9aa5b1"><title>reference {:.2f}%</title></rect>)",
                       x + slot * 0.1, kH - kPad - hr, slot * 0.4, hr, ref[b] * 100);
    svg += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#1f6feb"><title>current {:.2f}%</title></rect>)",
                       x + slot * 0.5, kH - kPad - hc, slot * 0.4, hc, cur[b] * 100);
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="9" text-anchor="middle">{:.4g}</text>)", x, kH - kPad + 12,
                       edges[b]);
  }
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="9" text-anchor="end">{:.4g}</text>)", kW - 8, kH - kPad + 12,
                     edges.back());
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="10" text-anchor="end">{:.3g}%</text>)", kPad - 4, 16, top * 100);
  svg += "</svg>";
  return svg;
}

// The two empirical CDFs over pooled quantiles.
std::string Ecdf(const nlohmann::json& chart) {
  std::vector<double> xs = chart["x"], ref = chart["reference"], cur = chart["current"];
  const double plot_w = kW - kPad - 8, plot_h = kH - kPad - 8;
  auto line = [&](const std::vector<double>& ys, const char* color) {
    std::string pts;
    for (size_t i = 0; i < ys.size(); ++i) {
      double x = kPad + plot_w * static_cast<double>(i) / static_cast<double>(std::max<size_t>(1, ys.size() - 1));
      pts += fmt::format("{:.1f},{:.1f} ", x, kH - kPad - plot_h * ys[i]);
    }
    return fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)", color, pts);
  };
  std::string svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)", kW, kH);
  svg += Axis() + line(ref, "#9aa5b1") + line(cur, "#1f6feb");
  for (size_t i = 0; i < xs.size(); i += std::max<size_t>(1, xs.size() / 6)) {
    double x = kPad + plot_w * static_cast<double>(i) / static_cast<double>(std::max<size_t>(1, xs.size() - 1));
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="9" text-anchor="middle">{:.4g}</text>)", x, kH - kPad + 12,
                       xs[i]);
  }
  svg += fmt::format(R"(<text x="{}" y="16" font-size="10" text-anchor="end">1</text></svg>)", kPad - 4);
  return svg;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
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

std::string RenderHtmlReport(const ValidationResult& r) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += fmt::format("<title>{} {} — {}</title>", HtmlEscape(r.suite), r.day, r.passed ? "passed" : "failed");
  h += R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.passed{color:#1a7f37}.failed{color:#cf222e}.skipped{color:#9a6700}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff}.badge.passed{background:#1a7f37}.badge.failed{background:#cf222e}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
)";
  h += fmt::format("<h1>Validation: {} on {} <span class=\"badge {}\">{}</span></h1>\n", HtmlEscape(r.suite), r.day,
                   r.passed ? "passed" : "failed", r.passed ? "PASSED" : "FAILED");
  h += fmt::format(
      "<p>{} rows on the day; reference window {} to {} ({} rows). {} checks: {} failed (fail), {} failed (warn), {} "
      "skipped. Generated {}.</p>\n",
      r.rows, FormatDay(r.reference_from), FormatDay(r.reference_to - 1), r.reference_rows, r.checks.size(), r.failed,
      r.warned, r.skipped, FormatTimestamp(r.created_at));
  h += "<h2>Checks</h2>\n<table id=\"checks\"><tr><th>check</th><th>type</th><th>column</th><th>severity</th>"
       "<th>status</th><th>expected</th><th>observed</th><th>detail</th></tr>\n";
  for (const CheckResult& c : r.checks) {
    h += fmt::format(
        "<tr data-check=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        HtmlEscape(c.name), HtmlEscape(c.name), CheckTypeName(c.type), HtmlEscape(c.column), SeverityName(c.severity),
        CheckStatusName(c.status), CheckStatusName(c.status), HtmlEscape(c.expected), HtmlEscape(Observed(c.observed)),
        HtmlEscape(c.detail));
  }
  h += "</table>\n<h2>Quarantine</h2>\n";
  if (r.quarantine.empty()) {
    h += "<p>Not tracked for this table.</p>\n";
  } else {
    h += "<table id=\"quarantine\"><tr><th>reason</th><th>rows</th></tr>\n";
    for (const auto& [reason, n] : r.quarantine) h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", reason, n);
    h += "</table>\n";
  }
  bool any_chart = false;
  for (const CheckResult& c : r.checks) {
    if (c.chart.is_null()) continue;
    if (!any_chart) {
      h += "<h2>Drift</h2>\n<p class=\"legend\"><span style=\"background:#9aa5b1\"></span>reference window"
           "<span style=\"background:#1f6feb\"></span>the day</p>\n";
      any_chart = true;
    }
    h += fmt::format("<h3>{} — {} <span class=\"{}\">{}</span></h3>\n", HtmlEscape(c.name),
                     HtmlEscape(Observed(c.observed)), CheckStatusName(c.status), CheckStatusName(c.status));
    h += c.chart["kind"] == "histogram" ? Histogram(c.chart) : Ecdf(c.chart);
    h += "\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace lathe::ml
