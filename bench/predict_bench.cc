// predict_bench: in-process latency of the fraud model server (no HTTP):
// single-transaction Predict p50/p99 and rows per second for batches of
// 1,000, for an XGBoost and a logistic model trained on generated data with
// the shipped spec and train.yaml. Run from the repository root:
//   ./build/bench/predict_bench [--days 45 --customers 1000 --requests 20000]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "common/cpu_pool.h"
#include "common/file_util.h"
#include "ml/data/generator.h"
#include "ml/features/batch.h"
#include "ml/features/feature_input.h"
#include "ml/serve/model_server.h"
#include "ml/train/trainer.h"
#include "storage/db.h"

using namespace lathe;
using Clock = std::chrono::steady_clock;

namespace {

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

int Fail(const Status& st) {
  std::fprintf(stderr, "predict_bench: %s\n", st.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("In-process fraud model serving latency");
  int64_t days = 45, customers = 1000, requests = 20000, batches = 20;
  std::string spec_path = "features/fraud.yaml", train_path = "train.yaml";
  app.add_option("--days", days, "Generated days in the store")->capture_default_str();
  app.add_option("--customers", customers, "Customers")->capture_default_str();
  app.add_option("--requests", requests, "Single-transaction predictions")->capture_default_str();
  app.add_option("--batches", batches, "Batches of 1,000")->capture_default_str();
  app.add_option("--spec", spec_path, "Feature spec")->capture_default_str();
  app.add_option("--train-config", train_path, "train.yaml")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string dir = (std::filesystem::temp_directory_path() / "lathe-predict-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto spec_yaml = ReadFile(spec_path);
  if (!spec_yaml.ok()) return Fail(spec_yaml.status());
  auto spec = ml::ParseFeatureSpec(*spec_yaml, spec_path);
  if (!spec.ok()) return Fail(spec.status());
  auto config = ml::LoadTrainConfig(train_path);
  if (!config.ok()) return Fail(config.status());

  ml::GeneratorOptions o;
  o.days = days;
  o.customers = customers;
  o.terminals = customers * 2;
  o.seed = 5;
  o.start_ts = *ml::ParseDay("2026-01-01");
  const int64_t now = o.start_ts + days * ml::kSecondsPerDay;
  {
    auto db = storage::OpenDb("", dir);
    if (!db.ok()) return Fail(db.status());
    auto stats = ml::Generate(db->get(), o);
    if (!stats.ok()) return Fail(stats.status());
  }
  // Train both kinds on the store's rows.
  auto db = storage::OpenDb("", dir);
  if (!db.ok()) return Fail(db.status());
  auto input = ml::LoadFeatureInput(db->get(), o.start_ts, now);
  if (!input.ok()) return Fail(input.status());
  CpuPool pool(2);
  auto matrix = ml::ComputeBatch(*spec, *input, &pool);
  if (!matrix.ok()) return Fail(matrix.status());
  auto card = ml::CustomerIdsOf(*matrix, *input);
  if (!card.ok()) return Fail(card.status());

  for (ml::ModelKind kind : {ml::ModelKind::kXgboost, ml::ModelKind::kLogistic}) {
    ml::TrainConfig c = *config;
    c.model = kind;
    auto trained = ml::Train(c, spec->Names(), *matrix, *card);
    if (!trained.ok()) return Fail(trained.status());
    const char* kind_name = kind == ml::ModelKind::kXgboost ? "xgboost" : "logistic";
    ml::ModelBundle bundle{"fraud", 1, kind_name, trained->model_bytes, trained->threshold, *spec_yaml};
    ml::ModelServerOptions options;
    options.poll_seconds = 0;
    options.now = [now] { return now; };
    ml::ModelServer server(
        options, [bundle](const std::string&) { return Result<std::optional<ml::ModelBundle>>(bundle); }, nullptr,
        [dir] { return storage::OpenDb("", dir); });
    auto t0 = Clock::now();
    server.Start();
    if (!server.current()) return Fail(Internal("the model did not load"));
    const double rebuild_s = std::chrono::duration<double>(Clock::now() - t0).count();

    std::mt19937 rng(7);
    std::uniform_int_distribution<int64_t> customer(1, customers), terminal(1, customers * 2);
    std::uniform_real_distribution<double> amount(1, 300);
    int64_t id = 9'000'000'000'000 + (kind == ml::ModelKind::kLogistic ? 500'000'000 : 0), ts = now + 1;
    auto next = [&] {
      ml::OnlineTransaction tx;
      tx.transaction_id = ++id;
      tx.ts = ts++;
      tx.customer_id = customer(rng);
      tx.terminal_id = terminal(rng);
      tx.amount = amount(rng);
      return tx;
    };
    std::printf("%s (%d trees): state rebuild %.2f s (%zu customers)\n", kind_name,
                kind == ml::ModelKind::kXgboost ? trained->rounds : 0, rebuild_s, server.status().customers);
    for (bool explain : {true, false}) {
      std::vector<double> ms;
      size_t refused = 0;
      for (int64_t i = 0; i < requests; ++i) {
        std::vector<ml::OnlineTransaction> one{next()};
        auto start = Clock::now();
        auto r = server.Predict(one, explain);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (!r.ok()) return Fail(r.status());
        refused += !r->predictions[0].status.ok();
      }
      double batch_s = 0;
      for (int64_t b = 0; b < batches; ++b) {
        std::vector<ml::OnlineTransaction> batch;
        for (int i = 0; i < 1000; ++i) batch.push_back(next());
        auto start = Clock::now();
        auto r = server.Predict(batch, explain);
        batch_s += std::chrono::duration<double>(Clock::now() - start).count();
        if (!r.ok()) return Fail(r.status());
      }
      std::printf("  explain %-5s: single predict p50 %.3f ms, p99 %.3f ms (%lld requests, %zu refused); "
                  "batches of 1,000: %.0f rows/s\n",
                  explain ? "true" : "false", Percentile(ms, 0.5), Percentile(ms, 0.99),
                  static_cast<long long>(requests), refused, static_cast<double>(batches) * 1000 / batch_s);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
