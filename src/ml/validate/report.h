// The validation report as one self-contained HTML page: a verdict, a table
// of every check with expected and observed values, the day's quarantine
// counts, and drift charts as inline SVG. No scripts, no external resources.
// Pure function; thread-safe.
#pragma once

#include <string>

#include "ml/validate/validator.h"

namespace lathe::ml {

std::string RenderHtmlReport(const ValidationResult& r);

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string HtmlEscape(std::string_view s);

}  // namespace lathe::ml
