// fraud_ml_bench: the fraud model's feature and training benchmarks (issue 5,
// docs/benchmarks.md). Generates transactions in memory with the generator
// (World::GenerateDay, days in parallel), then
//
//   features: times ComputeBatch at 1 thread and at all cores (alternating,
//             --repeat times), checks both give the same matrix, and
//             optionally times LoadFeatureInput from a store (--db).
//   train:    trains both model kinds through ml::Train (split, metrics), and
//             times XGBoost through Lathe against XGBoost's C API called
//             directly on the same rows, parameters and number of rounds.
//
//   fraud_ml_bench features --customers 5000 --terminals 10000 --days 183
//   fraud_ml_bench train --config train.yaml --customers 5000 --terminals 10000 --days 183
#include <xgboost/c_api.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "common/cpu_pool.h"
#include "ml/data/generator.h"
#include "ml/data/transaction.h"
#include "ml/features/batch.h"
#include "ml/features/feature_input.h"
#include "ml/features/feature_spec.h"
#include "ml/train/metrics.h"
#include "ml/train/trainer.h"
#include "ml/train/xgb_model.h"
#include "storage/db.h"

using namespace lathe;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of the whole process (all threads): CPU / wall shows how much of
// the cores a run got on the shared machine.
double ProcessCpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The 1-minute load average, printed beside every figure (the machine is shared).
std::string Load() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
std::string List(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += fmt::format("{}{:.3f}", s.empty() ? "" : " ", x);
  return s;
}

struct WorldArgs {
  ml::GeneratorOptions options;
  std::string start = "2026-01-01";
  void Add(CLI::App* cmd) {
    options.customers = 5000;
    options.terminals = 10000;
    options.days = 183;
    cmd->add_option("--customers", options.customers)->capture_default_str();
    cmd->add_option("--terminals", options.terminals)->capture_default_str();
    cmd->add_option("--days", options.days)->capture_default_str();
    cmd->add_option("--seed", options.seed)->capture_default_str();
    cmd->add_option("--start", start, "First day, YYYY-MM-DD")->capture_default_str();
  }
};

// Generates every day of the world into one FeatureInput, days in parallel in
// batches (the Transactions of a batch are dropped once appended). Device ids
// are coded once across all days, as FromTransactions does for one vector.
Result<ml::FeatureInput> GenerateInput(const WorldArgs& args, CpuPool* pool, int64_t* frauds) {
  ml::GeneratorOptions o = args.options;
  LATHE_ASSIGN_OR_RETURN(o.start_ts, ml::ParseDay(args.start));
  LATHE_RETURN_IF_ERROR(ml::ValidateGeneratorOptions(o));
  const auto t0 = Clock::now();
  const ml::World world = ml::World::Build(o);
  const double build_s = Since(t0);
  ml::FeatureInput in;
  std::unordered_map<std::string, int32_t> devices;
  *frauds = 0;
  const int64_t batch = 8;
  for (int64_t first = 0; first < o.days; first += batch) {
    const int64_t n = std::min(batch, o.days - first);
    std::vector<std::vector<ml::Transaction>> days(static_cast<size_t>(n));
    pool->ParallelFor(static_cast<size_t>(n), [&](size_t i) {
      days[i] = world.GenerateDay(o.start_ts + (first + static_cast<int64_t>(i)) * ml::kSecondsPerDay);
    });
    for (const auto& day : days) {
      for (const ml::Transaction& t : day) {
        in.transaction_id.push_back(t.transaction_id);
        in.ts.push_back(t.ts);
        in.customer_id.push_back(t.customer_id);
        in.terminal_id.push_back(t.terminal_id);
        in.amount.push_back(t.amount);
        int32_t device = -1;
        if (!t.device_id.empty())
          device = devices.emplace(t.device_id, static_cast<int32_t>(devices.size())).first->second;
        in.device.push_back(device);
        in.is_fraud.push_back(t.is_fraud ? 1 : 0);
        *frauds += t.is_fraud;
        in.label_ts.push_back(t.label_ts);
      }
    }
  }
  std::printf("generated %zu transactions (%lld fraud, %.3f%%): %lld customers, %lld terminals, %lld days from %s, "
              "seed %llu; world %.1f s, total %.1f s\n",
              in.size(), static_cast<long long>(*frauds), 100.0 * static_cast<double>(*frauds) / in.size(),
              static_cast<long long>(o.customers), static_cast<long long>(o.terminals),
              static_cast<long long>(o.days), args.start.c_str(), static_cast<unsigned long long>(o.seed), build_s,
              Since(t0));
  return in;
}

uint64_t Fnv(const void* data, size_t bytes, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int Features(const WorldArgs& args, const std::string& spec_path, int repeat, size_t threads,
             const std::string& db_url) {
  auto spec = ml::LoadFeatureSpec(spec_path);
  if (!spec.ok()) return std::cerr << spec.status().ToString() << "\n", 1;
  CpuPool all(threads);
  CpuPool one(1);
  int64_t frauds = 0;
  auto input = GenerateInput(args, &all, &frauds);
  if (!input.ok()) return std::cerr << input.status().ToString() << "\n", 1;
  const double rows = static_cast<double>(input->size());
  std::printf("features: %zu columns (%s), %d repeats, alternating 1 and %zu threads\n", spec->features.size(),
              spec_path.c_str(), repeat, threads);
  std::vector<double> secs[2];
  uint64_t hash[2] = {0, 0};
  for (int r = 0; r < repeat; ++r) {
    for (int k = 0; k < 2; ++k) {
      CpuPool* pool = k == 0 ? &one : &all;
      const std::string load = Load();
      const double cpu0 = ProcessCpu();
      const auto t0 = Clock::now();
      auto m = ml::ComputeBatch(*spec, *input, pool);
      const double s = Since(t0);
      const double cpu = ProcessCpu() - cpu0;
      if (!m.ok()) return std::cerr << m.status().ToString() << "\n", 1;
      secs[k].push_back(s);
      std::printf("  run %d, %zu thread(s): %.3f s, %.0f rows/s, CPU %.3f s (%.2f cores) (load %s)\n", r + 1,
                  pool->size(), s, rows / s, cpu, cpu / s, load.c_str());
      std::fflush(stdout);
      if (r == 0) hash[k] = Fnv(m->values.data(), m->values.size() * sizeof(float));
    }
  }
  for (int k = 0; k < 2; ++k) {
    std::printf("%zu thread(s): min %.3f s (%.0f rows/s), median %.3f s (%.0f rows/s); runs: %s\n",
                k == 0 ? size_t{1} : threads, Min(secs[k]), rows / Min(secs[k]), Median(secs[k]),
                rows / Median(secs[k]), List(secs[k]).c_str());
  }
  std::printf("speed-up %zu/1 threads: %.2fx (medians), %.2fx (minimums); matrices identical: %s\n", threads,
              Median(secs[0]) / Median(secs[1]), Min(secs[0]) / Min(secs[1]), hash[0] == hash[1] ? "yes" : "NO");

  if (!db_url.empty()) {
    auto db = storage::OpenDb(db_url, "");
    if (!db.ok()) return std::cerr << db.status().ToString() << "\n", 1;
    auto from = ml::ParseDay(args.start);
    const int64_t to = *from + args.options.days * ml::kSecondsPerDay;
    std::vector<double> load_s;
    size_t loaded = 0;
    for (int r = 0; r < repeat; ++r) {
      const std::string load = Load();
      const auto t0 = Clock::now();
      auto window = ml::LoadFeatureInput(db->get(), *from, to);
      const double s = Since(t0);
      if (!window.ok()) return std::cerr << window.status().ToString() << "\n", 1;
      loaded = window->size();
      load_s.push_back(s);
      std::printf("  load run %d: %zu rows in %.3f s, %.0f rows/s (load %s)\n", r + 1, loaded, s, loaded / s,
                  load.c_str());
    }
    std::printf("LoadFeatureInput from %s: %zu rows (in memory: %zu), min %.3f s (%.0f rows/s), median %.3f s\n",
                (*db)->url().c_str(), loaded, input->size(), Min(load_s), loaded / Min(load_s), Median(load_s));
  }
  return 0;
}

// ---- training -------------------------------------------------------------

struct Rows {
  std::vector<float> values, labels;
  size_t rows = 0, cols = 0;
  ml::DenseView view() const { return {values.data(), rows, cols}; }
};
Rows GatherRows(const ml::FeatureMatrix& m, const std::vector<size_t>& idx) {
  Rows p;
  p.rows = idx.size();
  p.cols = m.cols;
  p.values.reserve(idx.size() * m.cols);
  for (size_t i : idx) {
    p.values.insert(p.values.end(), m.row(i), m.row(i) + m.cols);
    p.labels.push_back(m.labels[i]);
  }
  return p;
}
int64_t Positives(const std::vector<float>& labels) {
  int64_t n = 0;
  for (float l : labels) n += l > 0.5f;
  return n;
}

#define XGB_CHECK(call)                                                              \
  do {                                                                               \
    if ((call) != 0) {                                                               \
      std::fprintf(stderr, "%s failed: %s\n", #call, XGBGetLastError());             \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

// XGBoost's C API called directly, as a user without Lathe would: two
// DMatrix (fit with labels and weights, validation with labels), a booster
// with the same parameters as XgbModel::Train, `rounds` boosting rounds and,
// when eval is set, XGBoost's own aucpr on the validation matrix after each
// round (what early stopping would read). Returns the booster (caller frees).
std::vector<float> PredictDirect(BoosterHandle booster, const Rows& x, int iteration_end);

BoosterHandle DirectXgboost(const ml::XgbParams& p, const Rows& fit, const std::vector<float>& weights,
                            const Rows& valid, int rounds, bool eval, double* seconds,
                            const Rows* score = nullptr, double* score_seconds = nullptr) {
  const auto t0 = Clock::now();
  DMatrixHandle dtrain = nullptr, dvalid = nullptr;
  XGB_CHECK(XGDMatrixCreateFromMat(fit.values.data(), fit.rows, fit.cols, NAN, &dtrain));
  XGB_CHECK(XGDMatrixSetFloatInfo(dtrain, "label", fit.labels.data(), fit.rows));
  XGB_CHECK(XGDMatrixSetFloatInfo(dtrain, "weight", weights.data(), fit.rows));
  XGB_CHECK(XGDMatrixCreateFromMat(valid.values.data(), valid.rows, valid.cols, NAN, &dvalid));
  XGB_CHECK(XGDMatrixSetFloatInfo(dvalid, "label", valid.labels.data(), valid.rows));
  DMatrixHandle cache[2] = {dtrain, dvalid};
  BoosterHandle booster = nullptr;
  XGB_CHECK(XGBoosterCreate(cache, 2, &booster));
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"eval_metric", "aucpr"},
      {"max_depth", std::to_string(p.max_depth)},
      {"eta", fmt::format("{}", p.eta)},
      {"subsample", fmt::format("{}", p.subsample)},
      {"colsample_bytree", fmt::format("{}", p.colsample_bytree)},
      {"min_child_weight", fmt::format("{}", p.min_child_weight)},
      {"seed", std::to_string(p.seed)},
      {"nthread", std::to_string(p.nthread)},
      {"verbosity", "0"},
  };
  for (const auto& [key, value] : params) XGB_CHECK(XGBoosterSetParam(booster, key, value.c_str()));
  DMatrixHandle evals[1] = {dvalid};
  const char* names[1] = {"validation"};
  for (int round = 0; round < rounds; ++round) {
    XGB_CHECK(XGBoosterUpdateOneIter(booster, round, dtrain));
    if (eval) {
      const char* result = nullptr;
      XGB_CHECK(XGBoosterEvalOneIter(booster, round, evals, names, 1, &result));
    }
  }
  *seconds = Since(t0);
  if (score != nullptr) {
    // Validation and test scores from the booster in memory (no save/load),
    // what a direct user would do next; the cached validation predictions are
    // not reused, as with Lathe.
    const auto t1 = Clock::now();
    (void)PredictDirect(booster, valid, 0);
    (void)PredictDirect(booster, *score, 0);
    *score_seconds = Since(t1);
  }
  XGDMatrixFree(dtrain);
  XGDMatrixFree(dvalid);
  return booster;
}

std::vector<float> PredictDirect(BoosterHandle booster, const Rows& x, int iteration_end) {
  DMatrixHandle dm = nullptr;
  XGB_CHECK(XGDMatrixCreateFromMat(x.values.data(), x.rows, x.cols, NAN, &dm));
  const std::string config = fmt::format(
      R"({{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": {}, "strict_shape": false}})",
      iteration_end);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  XGB_CHECK(XGBoosterPredictFromDMatrix(booster, dm, config.c_str(), &shape, &dim, &out));
  std::vector<float> v(out, out + x.rows);
  XGDMatrixFree(dm);
  return v;
}

void PrintSplit(const ml::FeatureMatrix& m, const ml::TimeSplitRows& s) {
  auto part = [&](const char* name, const std::vector<size_t>& idx, int64_t from, int64_t to) {
    int64_t pos = 0;
    for (size_t i : idx) pos += m.labels[i] > 0.5f;
    std::printf("  %-10s %s .. %s (%lld days): %zu rows, %lld fraud (%.3f%%)\n", name, ml::FormatDay(from).c_str(),
                ml::FormatDay(to - ml::kSecondsPerDay).c_str(),
                static_cast<long long>((to - from) / ml::kSecondsPerDay), idx.size(), static_cast<long long>(pos),
                idx.empty() ? 0.0 : 100.0 * static_cast<double>(pos) / static_cast<double>(idx.size()));
  };
  std::printf("split (warm-up before %s is not used):\n", ml::FormatDay(s.train_from).c_str());
  part("fit", s.fit, s.train_from, s.validation_from);
  part("validation", s.validation, s.validation_from, s.gap_from);
  std::printf("  %-10s %s .. %s (%lld days): not used\n", "gap", ml::FormatDay(s.gap_from).c_str(),
              ml::FormatDay(s.test_from - ml::kSecondsPerDay).c_str(),
              static_cast<long long>((s.test_from - s.gap_from) / ml::kSecondsPerDay));
  part("test", s.test, s.test_from, s.test_to);
}

void PrintMetrics(const char* kind, const ml::TrainResult& r, double seconds) {
  auto one = [](const char* window, const ml::Metrics& m) {
    std::printf("    %-10s AUPRC %.4f  ROC-AUC %.4f  precision %.3f  recall %.3f  F1 %.3f  card-precision@%d %.3f"
                "  (%lld rows, %lld fraud)\n",
                window, m.auprc, m.roc_auc, m.precision, m.recall, m.f1, m.k, m.card_precision_at_k,
                static_cast<long long>(m.rows), static_cast<long long>(m.positives));
  };
  std::printf("  %s: %.2f s, positive_weight %.1f, threshold %.4f%s\n", kind, seconds, r.positive_weight, r.threshold,
              r.rounds ? fmt::format(", {} rounds kept", r.rounds).c_str() : "");
  one("validation", r.validation);
  one("test", r.test);
}

int Train(const WorldArgs& args, const std::string& spec_path, const std::string& config_path,
          const std::vector<int64_t>& split, int repeat, size_t threads) {
  auto spec = ml::LoadFeatureSpec(spec_path);
  if (!spec.ok()) return std::cerr << spec.status().ToString() << "\n", 1;
  auto config = ml::LoadTrainConfig(config_path);
  if (!config.ok()) return std::cerr << config.status().ToString() << "\n", 1;
  if (!split.empty()) {
    if (split.size() != 4) return std::cerr << "--split takes train,validation,gap,test days\n", 1;
    config->split = {split[0], split[1], split[2], split[3]};
  }
  CpuPool pool(threads);
  int64_t frauds = 0;
  auto input = GenerateInput(args, &pool, &frauds);
  if (!input.ok()) return std::cerr << input.status().ToString() << "\n", 1;
  auto t0 = Clock::now();
  auto m = ml::ComputeBatch(*spec, *input, &pool);
  if (!m.ok()) return std::cerr << m.status().ToString() << "\n", 1;
  auto customers = ml::CustomerIdsOf(*m, *input);
  if (!customers.ok()) return std::cerr << customers.status().ToString() << "\n", 1;
  std::printf("features: %zu x %zu in %.1f s (%zu threads); lookback %lld days\n", m->rows, m->cols, Since(t0),
              threads, static_cast<long long>(spec->LookbackSeconds() / ml::kSecondsPerDay));
  input = ml::FeatureInput{};  // free it

  const ml::SplitConfig& sc = config->split;
  std::printf("config %s, split train %lld (validation %lld) / gap %lld / test %lld days\n", config_path.c_str(),
              static_cast<long long>(sc.train_days), static_cast<long long>(sc.validation_days),
              static_cast<long long>(sc.gap_days), static_cast<long long>(sc.test_days));

  // 1. Quality of both model kinds.
  ml::TrainResult xgb_result;
  for (ml::ModelKind kind : {ml::ModelKind::kXgboost, ml::ModelKind::kLogistic}) {
    ml::TrainConfig c = *config;
    c.model = kind;
    t0 = Clock::now();
    auto r = ml::Train(c, spec->Names(), *m, *customers);
    const double s = Since(t0);
    if (!r.ok()) return std::cerr << r.status().ToString() << "\n", 1;
    if (kind == ml::ModelKind::kXgboost) {
      PrintSplit(*m, r->split);
      std::printf("models:\n");
    }
    PrintMetrics(kind == ml::ModelKind::kXgboost ? "xgboost" : "logistic", *r, s);
    if (kind == ml::ModelKind::kXgboost) xgb_result = std::move(*r);
  }

  // 2. XGBoost through Lathe against the C API directly, same rows and rounds.
  ml::TrainConfig c = *config;
  c.model = ml::ModelKind::kXgboost;
  const ml::XgbParams& p = c.xgboost;
  const int kept = xgb_result.rounds;
  const int rounds = std::min(p.n_estimators, kept + p.early_stopping_rounds);
  const Rows fit = GatherRows(*m, xgb_result.split.fit);
  const Rows valid = GatherRows(*m, xgb_result.split.validation);
  const Rows test = GatherRows(*m, xgb_result.split.test);
  std::vector<int64_t> valid_customers, valid_ts, test_customers, test_ts;
  for (size_t i : xgb_result.split.validation) valid_customers.push_back((*customers)[i]), valid_ts.push_back(m->ts[i]);
  for (size_t i : xgb_result.split.test) test_customers.push_back((*customers)[i]), test_ts.push_back(m->ts[i]);
  const int64_t pos = Positives(fit.labels);
  const double w = c.positive_weight > 0 ? c.positive_weight : static_cast<double>(fit.rows - pos) / pos;
  std::vector<float> weights(fit.rows);
  for (size_t i = 0; i < fit.rows; ++i) weights[i] = fit.labels[i] > 0.5f ? static_cast<float>(w) : 1.0f;

  // Same model? Direct XGBoost for `kept` rounds must score the test rows as
  // Lathe's saved model does.
  {
    double unused = 0;
    BoosterHandle b = DirectXgboost(p, fit, weights, valid, kept, false, &unused);
    const std::vector<float> direct = PredictDirect(b, test, 0);
    XGBoosterFree(b);
    auto lathe = ml::PredictWith(ml::ModelKind::kXgboost, xgb_result.model_bytes, test.view());
    if (!lathe.ok()) return std::cerr << lathe.status().ToString() << "\n", 1;
    double diff = 0;
    for (size_t i = 0; i < direct.size(); ++i) diff = std::max(diff, std::fabs(double(direct[i]) - (*lathe)[i]));
    std::printf("same model: direct XGBoost (%d rounds) vs Lathe's saved model on %zu test rows, max |score diff| %g\n",
                kept, test.rows, diff);
  }

  if (repeat == 0) return 0;
  std::printf("timing: %zu fit x %zu cols, %zu validation rows, nthread %d; Lathe kept %d rounds and ran %d "
              "(patience %d); direct XGBoost runs %d rounds; %d repeats\n",
              fit.rows, fit.cols, valid.rows, p.nthread, kept, rounds, p.early_stopping_rounds, rounds, repeat);
  std::vector<double> t_train, t_model, t_direct_eval, t_direct, t_direct_score, t_after;
  std::vector<double> c_train, c_model, c_direct_eval, c_direct;
  for (int r = 0; r < repeat; ++r) {
    const std::string load = Load();
    double cpu0 = ProcessCpu();
    t0 = Clock::now();
    auto full = ml::Train(c, spec->Names(), *m, *customers);
    t_train.push_back(Since(t0));
    c_train.push_back(ProcessCpu() - cpu0);
    if (!full.ok() || full->rounds != kept) return std::cerr << "ml::Train changed between runs\n", 1;

    cpu0 = ProcessCpu();
    t0 = Clock::now();
    auto model = ml::XgbModel::Train(p, fit.view(), fit.labels, weights, valid.view(), valid.labels);
    t_model.push_back(Since(t0));
    c_model.push_back(ProcessCpu() - cpu0);
    if (!model.ok()) return std::cerr << model.status().ToString() << "\n", 1;

    // What ml::Train does after the fit, step by step, on this model.
    t0 = Clock::now();
    auto bytes = model->Save();
    const double save_s = Since(t0);
    t0 = Clock::now();
    auto loaded = ml::XgbModel::Load(*bytes);
    const double load_s = Since(t0);
    t0 = Clock::now();
    auto v_scores = loaded->Predict(valid.view());
    auto t_scores = loaded->Predict(test.view());
    const double predict_s = Since(t0);
    t0 = Clock::now();
    auto threshold = ml::ThresholdForRecall(*v_scores, valid.labels, c.target_recall);
    (void)ml::Evaluate(*v_scores, valid.labels, valid_customers, valid_ts, *threshold, c.card_precision_k);
    (void)ml::Evaluate(*t_scores, test.labels, test_customers, test_ts, *threshold, c.card_precision_k);
    (void)ml::Curve(*t_scores, test.labels);
    const double metrics_s = Since(t0);
    t_after.push_back(save_s + 2 * load_s + predict_s + metrics_s);
    std::printf("  run %d: after the fit: save %.3f s (%zu bytes), load %.3f s (ml::Train loads twice), score "
                "validation + test %.3f s, threshold + metrics + curve %.3f s\n",
                r + 1, save_s, bytes->size(), load_s, predict_s, metrics_s);

    double s = 0, score_s = 0;
    cpu0 = ProcessCpu();
    XGBoosterFree(DirectXgboost(p, fit, weights, valid, rounds, true, &s, &test, &score_s));
    c_direct_eval.push_back(ProcessCpu() - cpu0);  // includes the scoring
    t_direct_eval.push_back(s);
    t_direct_score.push_back(s + score_s);
    cpu0 = ProcessCpu();
    XGBoosterFree(DirectXgboost(p, fit, weights, valid, rounds, false, &s));
    c_direct.push_back(ProcessCpu() - cpu0);
    t_direct.push_back(s);
    std::printf("  run %d: ml::Train %.3f s, XgbModel::Train %.3f s, direct+eval %.3f s, direct %.3f s (load %s)\n",
                r + 1, t_train.back(), t_model.back(), t_direct_eval.back(), t_direct.back(), load.c_str());
    std::fflush(stdout);
  }
  auto row = [&](const char* what, const std::vector<double>& v) {
    std::printf("  %-44s min %.3f s  median %.3f s  per round %.2f ms  vs direct+eval %+.1f%%  vs direct %+.1f%%\n",
                what, Min(v), Median(v), 1000 * Median(v) / rounds,
                100 * (Median(v) / Median(t_direct_eval) - 1), 100 * (Median(v) / Median(t_direct) - 1));
  };
  std::printf("training time (%d rounds each):\n", rounds);
  row("ml::Train (split, gather, fit, save, score)", t_train);
  row("XgbModel::Train (fit + AP early stopping)", t_model);
  row("direct C API + XGBoost aucpr eval per round", t_direct_eval);
  row("direct C API, no evaluation", t_direct);
  row("direct C API + eval, then score valid+test", t_direct_score);
  std::printf("  ml::Train after the fit (save, load, score, metrics): median %.3f s\n", Median(t_after));
  std::printf("  CPU s (median): ml::Train %.3f, XgbModel::Train %.3f, direct+eval+score %.3f, direct %.3f; "
              "ml::Train / direct+eval+score %.3f, XgbModel::Train / direct+eval+score %.3f\n",
              Median(c_train), Median(c_model), Median(c_direct_eval), Median(c_direct),
              Median(c_train) / Median(c_direct_eval), Median(c_model) / Median(c_direct_eval));
  std::printf("  runs: ml::Train %s | XgbModel %s | direct+eval %s | direct %s\n", List(t_train).c_str(),
              List(t_model).c_str(), List(t_direct_eval).c_str(), List(t_direct).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Fraud feature and training benchmarks (docs/benchmarks.md)"};
  cli.require_subcommand(1);
  WorldArgs world;
  std::string spec = "features/fraud.yaml", config = "train.yaml", db;
  int repeat = 3;
  size_t threads = HardwareThreads();
  std::vector<int64_t> split;
  CLI::App* features = cli.add_subcommand("features", "ComputeBatch rows/s at 1 thread and at all cores");
  CLI::App* train = cli.add_subcommand("train", "Both model kinds' metrics; Lathe vs direct XGBoost training time");
  for (CLI::App* cmd : {features, train}) {
    world.Add(cmd);
    cmd->add_option("--spec", spec, "Feature spec")->capture_default_str();
    cmd->add_option("--repeat", repeat, "Timed repeats (train: 0 = metrics only)")->capture_default_str();
    cmd->add_option("--threads", threads, "All cores")->capture_default_str();
  }
  features->add_option("--db", db, "Also time LoadFeatureInput of the same window from this store (URL)");
  train->add_option("--config", config, "train.yaml")->capture_default_str();
  train->add_option("--split", split, "Override the split: train,validation,gap,test days")->delimiter(',');
  CLI11_PARSE(cli, argc, argv);
  if (repeat < (train->parsed() ? 0 : 1)) return std::cerr << "--repeat must be >= 1 (train: >= 0)\n", 1;
  if (features->parsed()) return Features(world, spec, repeat, threads, db);
  return Train(world, spec, config, split, repeat, threads);
}
