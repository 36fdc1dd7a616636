// Run-date templating of task parameters: "{{ name }}" placeholders in
// strings, replaced from a TemplateVars. Supported names (docs/pipelines.md):
//   ds                  the run date, YYYY-MM-DD
//   ds_nodash           YYYYMMDD
//   ds_minus_N / ds_plus_N   the run date N days earlier / later (N 0..3650)
//   ds_nodash_minus_N / ds_nodash_plus_N
//   dag_id, run_id, task_id, data_dir
// Anything else, or an unclosed "{{", is an error. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace lathe::pipeline {

struct TemplateVars {
  std::string ds;  // YYYY-MM-DD
  std::string dag_id, run_id, task_id, data_dir;
};

// UTC day arithmetic on YYYY-MM-DD: InvalidArgument on a malformed date.
Result<int64_t> ParseDate(const std::string& ds);  // Unix seconds of 00:00 UTC
std::string FormatDate(int64_t unix_seconds);       // YYYY-MM-DD of that instant

// Renders one string. InvalidArgument naming the placeholder and why.
Result<std::string> RenderTemplate(const std::string& text, const TemplateVars& vars);
// Renders every string inside a JSON value (keys are left alone).
Result<nlohmann::json> RenderParams(const nlohmann::json& params, const TemplateVars& vars);

}  // namespace lathe::pipeline
