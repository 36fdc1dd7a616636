// data generate / import / export and validate: the fraud pipeline's data
// commands. Each opens the database named by --db (default: the SQLite file in
// the data directory), does one job and reports on stdout (--json for JSON).
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "app/commands.h"
#include "ml/data/csv_import.h"
#include "ml/data/generator.h"
#include "ml/data/transaction.h"
#include "ml/validate/validator.h"
#include "storage/db.h"

namespace lathe::app {
namespace {

using nlohmann::json;

// Exit statuses of `validate`: a day that fails is not the same as a
// validator that could not run, so a scheduler can retry only the latter.
constexpr int kValidateFailed = 1, kValidateBadInput = 2, kValidateError = 3;

Result<std::unique_ptr<storage::Db>> Open(const AppContext& ctx, const std::string& url) {
  return storage::OpenDb(url, ctx.settings.data_dir);
}

void AddDbOption(CLI::App* cmd, std::string* url) {
  cmd->add_option("--db", *url,
                  "Database URL: postgres://user@host:port/db, sqlite:PATH (default: DATA_DIR/lathe.db)");
}

int64_t Today() { return static_cast<int64_t>(std::time(nullptr)) / ml::kSecondsPerDay * ml::kSecondsPerDay; }

void RegisterGenerate(CLI::App* data, AppContext* ctx, int* exit_code) {
  struct Args {
    ml::GeneratorOptions options;
    std::string start, db;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = data->add_subcommand("generate", "Generate synthetic transactions with labelled fraud scenarios");
  cmd->add_option("--days", args->options.days, "Days to generate")->required();
  cmd->add_option("--customers", args->options.customers, "Customers")->capture_default_str();
  cmd->add_option("--terminals", args->options.terminals, "Terminals (merchants)")->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Random seed: the same seed gives the same data")->capture_default_str();
  cmd->add_option("--start", args->start, "First day, YYYY-MM-DD (default: DAYS days before today)");
  AddDbOption(cmd, &args->db);
  cmd->add_flag("--json", args->json, "Print the summary as JSON");
  cmd->callback([args, ctx, exit_code] {
    ml::GeneratorOptions o = args->options;
    if (args->start.empty()) {
      o.start_ts = Today() - o.days * ml::kSecondsPerDay;
    } else {
      auto start = ml::ParseDay(args->start);
      if (!start.ok()) {
        *exit_code = ReportError(InvalidArgument("--start " + start.status().message()));
        return;
      }
      o.start_ts = *start;
    }
    if (Status st = ml::ValidateGeneratorOptions(o); !st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    auto db = Open(*ctx, args->db);
    if (!db.ok()) {
      *exit_code = ReportError(db.status());
      return;
    }
    auto stats = ml::Generate(db->get(), o);
    if (!stats.ok()) {
      *exit_code = ReportError(stats.status());
      return;
    }
    json by;
    for (int s = 0; s < ml::kScenarioCount; ++s)
      by[std::string(ml::ScenarioName(static_cast<ml::FraudScenario>(s)))] = stats->by_scenario[static_cast<size_t>(s)];
    const double rate = stats->rows ? static_cast<double>(stats->frauds) / static_cast<double>(stats->rows) : 0.0;
    if (args->json) {
      std::cout << json{{"rows", stats->rows},
                        {"frauds", stats->frauds},
                        {"fraud_rate", rate},
                        {"by_scenario", by},
                        {"first_day", ml::FormatDay(o.start_ts)},
                        {"days", o.days},
                        {"seconds", stats->seconds},
                        {"generate_seconds", stats->generate_seconds},
                        {"rows_per_second", stats->seconds > 0 ? static_cast<double>(stats->rows) / stats->seconds : 0},
                        {"db", (*db)->url()}}
                       .dump(2)
                << "\n";
    } else {
      std::printf("%lld transactions over %lld days from %s (%lld fraud, %.3f%%) in %.2f s (%.0f rows/s) to %s\n",
                  static_cast<long long>(stats->rows), static_cast<long long>(o.days), ml::FormatDay(o.start_ts).c_str(),
                  static_cast<long long>(stats->frauds), rate * 100, stats->seconds,
                  stats->seconds > 0 ? static_cast<double>(stats->rows) / stats->seconds : 0.0, (*db)->url().c_str());
      for (auto& [name, n] : by.items()) std::printf("  %-22s %lld\n", name.c_str(), n.get<long long>());
    }
  });
}

void RegisterImport(CLI::App* data, AppContext* ctx, int* exit_code) {
  struct Args {
    std::string file, map, db;
    bool new_customers = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = data->add_subcommand("import", "Import transactions from CSV; bad rows go to quarantine with a reason");
  cmd->add_option("file", args->file, "CSV file with a header row")->required();
  cmd->add_option("--map", args->map, "Map CSV columns to fields: column=field,column=field");
  cmd->add_flag("--new-customers", args->new_customers, "Add unknown customers instead of quarantining their rows");
  AddDbOption(cmd, &args->db);
  cmd->add_flag("--json", args->json, "Print the summary as JSON");
  cmd->callback([args, ctx, exit_code] {
    ml::ImportOptions options;
    options.new_customers = args->new_customers;
    if (!args->map.empty()) {
      auto map = ml::ParseFieldMap(args->map);
      if (!map.ok()) {
        *exit_code = ReportError(map.status());
        return;
      }
      options.column_to_field = std::move(map).value();
    }
    auto db = Open(*ctx, args->db);
    if (!db.ok()) {
      *exit_code = ReportError(db.status());
      return;
    }
    auto stats = ml::ImportCsv(db->get(), args->file, options);
    if (!stats.ok()) {
      *exit_code = ReportError(stats.status());
      return;
    }
    int64_t quarantined = 0;
    for (const auto& [reason, n] : stats->quarantined) quarantined += n;
    if (args->json) {
      std::cout << json{{"rows", stats->rows},
                        {"accepted", stats->accepted},
                        {"quarantined", stats->quarantined},
                        {"new_customers", stats->new_customers},
                        {"ignored_columns", stats->ignored_columns}}
                       .dump(2)
                << "\n";
    } else {
      std::printf("%s: %lld rows, %lld imported, %lld quarantined\n", args->file.c_str(),
                  static_cast<long long>(stats->rows), static_cast<long long>(stats->accepted),
                  static_cast<long long>(quarantined));
      for (const auto& [reason, n] : stats->quarantined)
        std::printf("  quarantined %-18s %lld\n", reason.c_str(), static_cast<long long>(n));
      for (const std::string& c : stats->ignored_columns)
        std::fprintf(stderr, "lathe: column '%s' maps to no field and was not imported\n", c.c_str());
    }
    if (stats->accepted == 0 && stats->rows > 0) *exit_code = 1;
  });
}

void RegisterExport(CLI::App* data, AppContext* ctx, int* exit_code) {
  struct Args {
    std::string date, from, to, out, db;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = data->add_subcommand("export", "Export transactions as CSV (all, one day, or a range of days)");
  auto* date = cmd->add_option("--date", args->date, "One day, YYYY-MM-DD");
  cmd->add_option("--from", args->from, "First day, YYYY-MM-DD")->excludes(date);
  cmd->add_option("--to", args->to, "Last day (inclusive), YYYY-MM-DD")->excludes(date);
  cmd->add_option("--out", args->out, "Output file (default: stdout)");
  AddDbOption(cmd, &args->db);
  cmd->callback([args, ctx, exit_code] {
    int64_t from = 0, to = INT64_MAX;
    auto day = [&](const std::string& flag, const std::string& text, int64_t* out, int64_t add) {
      if (text.empty()) return true;
      auto d = ml::ParseDay(text);
      if (!d.ok()) {
        *exit_code = ReportError(InvalidArgument(flag + " " + d.status().message()));
        return false;
      }
      *out = *d + add;
      return true;
    };
    if (!day("--date", args->date, &from, 0) || !day("--from", args->from, &from, 0) ||
        !day("--to", args->to, &to, ml::kSecondsPerDay))
      return;
    if (!args->date.empty()) to = from + ml::kSecondsPerDay;
    auto db = Open(*ctx, args->db);
    if (!db.ok()) {
      *exit_code = ReportError(db.status());
      return;
    }
    std::ofstream file;
    if (!args->out.empty()) {
      file.open(args->out, std::ios::binary | std::ios::trunc);
      if (!file) {
        *exit_code = ReportError(IOError(args->out + ": cannot create file"));
        return;
      }
    }
    std::ostream& out = args->out.empty() ? std::cout : file;
    auto rows = ml::ExportCsv(db->get(), from, to, out);
    if (!rows.ok()) {
      *exit_code = ReportError(rows.status());
      return;
    }
    out.flush();
    std::fprintf(stderr, "exported %lld transactions\n", static_cast<long long>(*rows));
  });
}

void RegisterValidate(CLI::App* app, AppContext* ctx, int* exit_code) {
  struct Args {
    std::string suite, date, db;
    int reference_days = -1;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app->add_subcommand(
      "validate", "Check one day of data against an expectation suite and drift from the days before; exit 1 if a "
                  "fail-severity check fails");
  cmd->add_option("--suite", args->suite, "Expectation suite (YAML)")->required();
  cmd->add_option("--date", args->date, "Day to validate, YYYY-MM-DD")->required();
  cmd->add_option("--reference-days", args->reference_days, "Days before --date to compare against (default: the suite's)")
      ->check(CLI::Range(1, 3650));
  AddDbOption(cmd, &args->db);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, ctx, exit_code] {
    auto fail = [&](const Status& st) {
      int code = ReportError(st);
      *exit_code = code == 2 ? kValidateBadInput : kValidateError;
    };
    auto day = ml::ParseDay(args->date);
    if (!day.ok()) return fail(InvalidArgument("--date " + day.status().message()));
    auto suite = ml::LoadSuite(args->suite);
    if (!suite.ok()) return fail(suite.status());
    auto db = Open(*ctx, args->db);
    if (!db.ok()) return fail(db.status());
    ml::ValidateOptions options;
    options.day_ts = *day;
    options.reference_days = args->reference_days;
    options.out_dir = ctx->settings.data_dir + "/validation";
    auto result = ml::Validate(db->get(), *suite, options);
    if (!result.ok()) return fail(result.status());
    const ml::ValidationResult& r = *result;
    if (args->json) {
      json j = ml::ResultToJson(r);
      j["json_path"] = r.json_path;
      j["html_path"] = r.html_path;
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("%s %s: %s (%lld rows, reference %lld rows; %d failed, %d warned, %d skipped)\n", r.suite.c_str(),
                  r.day.c_str(), r.passed ? "PASSED" : "FAILED", static_cast<long long>(r.rows),
                  static_cast<long long>(r.reference_rows), r.failed, r.warned, r.skipped);
      for (const ml::CheckResult& c : r.checks) {
        std::string observed = c.observed.is_null() ? "-"
                               : c.observed.is_number_float() ? fmt::format("{:.6g}", c.observed.get<double>())
                               : c.observed.is_string()       ? c.observed.get<std::string>()
                                                              : c.observed.dump();
        std::printf("  %-7s %-4s %-34s observed %-12s expected %s\n", ml::CheckStatusName(c.status),
                    ml::SeverityName(c.severity), c.name.c_str(), observed.c_str(), c.expected.c_str());
      }
      std::printf("report: %s\n", r.html_path.c_str());
    }
    *exit_code = r.passed ? 0 : kValidateFailed;
  });
}

}  // namespace

void RegisterDataCommands(CLI::App* app, AppContext* ctx, int* exit_code) {
  CLI::App* data = app->add_subcommand("data", "Fraud transactions: generate, import, export");
  data->require_subcommand(1);
  RegisterGenerate(data, ctx, exit_code);
  RegisterImport(data, ctx, exit_code);
  RegisterExport(data, ctx, exit_code);
  RegisterValidate(app, ctx, exit_code);
}

}  // namespace lathe::app
