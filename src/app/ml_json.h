// The JSON shapes of the ML workspace, one code for the command line's
// --json output and the HTTP API (docs/api.md, "The ML workspace"): tracked
// runs, promotion decisions, pipeline runs and task tries. Pure functions of
// their arguments (TryJson reads a try's log file when the database has no
// text); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ml/track/registry.h"
#include "ml/track/tracker.h"
#include "pipeline/state_store.h"

namespace lathe::app {

// null for nullopt.
nlohmann::json OptionalJson(const std::optional<int64_t>& v);
// YYYY-MM-DD of a UTC instant in seconds; "-" for 0 (not set).
std::string DayOrDash(int64_t ts);
// The last day of a half-open [from, to) window; "-" for 0.
std::string LastDayOrDash(int64_t to);

// A run as `lathe runs list --json` prints it: run_id, experiment, status,
// start_time, end_time (Unix seconds, 0 while running), source_version,
// data_from, test_from, data_to (last day), rows{train,validation,test}, error.
nlohmann::json RunJson(const ml::RunInfo& r);
// The last value logged for each metric key.
std::map<std::string, double> LastMetrics(const ml::RunDetails& d);
// `lathe runs show --json`: RunJson plus params, metrics (every point with
// key, value, step, ts), tags and artifacts (name, sha256, size, media_type).
nlohmann::json RunDetailsJson(const ml::RunDetails& d);
// The HTTP API's RUN: RunJson with end_time null while running, plus tags
// and metrics as {key: last value}.
nlohmann::json RunSummaryJson(const ml::RunSummary& s);
nlohmann::json RunSummaryJson(const ml::RunDetails& d);

// A promotion decision: decision_id, decision ("promote" | "keep"), reason,
// versions, AUPRCs, margin, confidence, bootstrap size, test rows; with a
// champion also champion_auprc, difference and ci [lo, hi].
nlohmann::json DecisionJson(const ml::PromotionDecision& d);

// Unix milliseconds as "2026-11-05T02:00:00.000Z"; "-" for 0 (not yet).
std::string FormatMillis(int64_t ms);
// A pipeline run as `lathe pipeline status --json` prints it: run_id, dag_id,
// ds, kind, state, created_at, started_at, ended_at and tasks {id: {state,
// tries}} (read through store; a read error leaves tasks empty).
nlohmann::json PipelineRunJson(pipeline::StateStore* store, const pipeline::RunRecord& r);
// One try as `lathe pipeline logs --json` prints it, with its log text (from
// the database, else from its log file, else "").
nlohmann::json TryJson(const pipeline::TryRecord& t);

}  // namespace lathe::app
