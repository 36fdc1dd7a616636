#include "ml/train/trainer.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

namespace lathe::ml {
namespace {

// Reads one scalar key of a map node into out, naming section.key in errors.
class YamlReader {
 public:
  YamlReader(std::string source) : source_(std::move(source)) {}

  Status CheckKeys(const YAML::Node& node, const std::string& section, const std::set<std::string>& allowed) {
    if (!node.IsMap())
      return InvalidArgument(fmt::format("{}: {} must be a mapping", source_, section.empty() ? "the file" : section));
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (!allowed.count(key))
        return InvalidArgument(fmt::format("{}: unknown key '{}'", source_, Name(section, key)));
    }
    return Status::OK();
  }

  template <typename T>
  Status Get(const YAML::Node& node, const std::string& section, const std::string& key, T* out) {
    const YAML::Node v = node[key];
    if (!v) return Status::OK();
    if (!v.IsScalar())
      return InvalidArgument(fmt::format("{}: '{}' must be a scalar", source_, Name(section, key)));
    try {
      *out = v.as<T>();
    } catch (const YAML::Exception&) {
      return InvalidArgument(fmt::format("{}: '{}' has a bad value '{}'", source_, Name(section, key), v.Scalar()));
    }
    return Status::OK();
  }

  Status Range(bool ok, const std::string& section, const std::string& key, const std::string& rule) {
    if (ok) return Status::OK();
    return InvalidArgument(fmt::format("{}: '{}' {}", source_, Name(section, key), rule));
  }

 private:
  static std::string Name(const std::string& section, const std::string& key) {
    return section.empty() ? key : section + "." + key;
  }
  std::string source_;
};

Status ParseInto(const YAML::Node& root, YamlReader& r, TrainConfig* c) {
  LATHE_RETURN_IF_ERROR(r.CheckKeys(root, "", {"model", "seed", "split", "positive_weight", "threshold",
                                               "min_train_rows", "card_precision_k", "xgboost", "logistic"}));
  std::string model = "xgboost";
  LATHE_RETURN_IF_ERROR(r.Get(root, "", "model", &model));
  if (model == "xgboost") c->model = ModelKind::kXgboost;
  else if (model == "logistic") c->model = ModelKind::kLogistic;
  else return r.Range(false, "", "model", fmt::format("must be xgboost or logistic, got '{}'", model));
  LATHE_RETURN_IF_ERROR(r.Get(root, "", "seed", &c->seed));

  std::string weight = "auto";
  LATHE_RETURN_IF_ERROR(r.Get(root, "", "positive_weight", &weight));
  if (weight == "auto") {
    c->positive_weight = 0;
  } else {
    LATHE_RETURN_IF_ERROR(r.Get(root, "", "positive_weight", &c->positive_weight));
    LATHE_RETURN_IF_ERROR(r.Range(c->positive_weight > 0, "", "positive_weight", "must be 'auto' or > 0"));
  }
  LATHE_RETURN_IF_ERROR(r.Get(root, "", "min_train_rows", &c->min_train_rows));
  LATHE_RETURN_IF_ERROR(r.Range(c->min_train_rows >= 1, "", "min_train_rows", "must be >= 1"));
  LATHE_RETURN_IF_ERROR(r.Get(root, "", "card_precision_k", &c->card_precision_k));
  LATHE_RETURN_IF_ERROR(r.Range(c->card_precision_k >= 1, "", "card_precision_k", "must be >= 1"));

  if (const YAML::Node s = root["split"]) {
    LATHE_RETURN_IF_ERROR(r.CheckKeys(s, "split", {"train_days", "validation_days", "gap_days", "test_days"}));
    LATHE_RETURN_IF_ERROR(r.Get(s, "split", "train_days", &c->split.train_days));
    LATHE_RETURN_IF_ERROR(r.Get(s, "split", "validation_days", &c->split.validation_days));
    LATHE_RETURN_IF_ERROR(r.Get(s, "split", "gap_days", &c->split.gap_days));
    LATHE_RETURN_IF_ERROR(r.Get(s, "split", "test_days", &c->split.test_days));
  }
  LATHE_RETURN_IF_ERROR(r.Range(c->split.train_days >= 2, "split", "train_days", "must be >= 2"));
  LATHE_RETURN_IF_ERROR(r.Range(c->split.validation_days >= 1 && c->split.validation_days < c->split.train_days,
                                "split", "validation_days", "must be >= 1 and < split.train_days"));
  LATHE_RETURN_IF_ERROR(r.Range(c->split.gap_days >= 0, "split", "gap_days", "must be >= 0"));
  LATHE_RETURN_IF_ERROR(r.Range(c->split.test_days >= 1, "split", "test_days", "must be >= 1"));

  if (const YAML::Node t = root["threshold"]) {
    LATHE_RETURN_IF_ERROR(r.CheckKeys(t, "threshold", {"rule", "target_recall", "fp_cost", "fn_cost"}));
    std::string rule = "target_recall";
    LATHE_RETURN_IF_ERROR(r.Get(t, "threshold", "rule", &rule));
    if (rule == "target_recall") c->threshold_rule = ThresholdRule::kTargetRecall;
    else if (rule == "cost") c->threshold_rule = ThresholdRule::kCost;
    else return r.Range(false, "threshold", "rule", fmt::format("must be target_recall or cost, got '{}'", rule));
    LATHE_RETURN_IF_ERROR(r.Get(t, "threshold", "target_recall", &c->target_recall));
    LATHE_RETURN_IF_ERROR(r.Get(t, "threshold", "fp_cost", &c->fp_cost));
    LATHE_RETURN_IF_ERROR(r.Get(t, "threshold", "fn_cost", &c->fn_cost));
  }
  LATHE_RETURN_IF_ERROR(
      r.Range(c->target_recall > 0 && c->target_recall <= 1, "threshold", "target_recall", "must be in (0, 1]"));
  LATHE_RETURN_IF_ERROR(r.Range(c->fp_cost >= 0, "threshold", "fp_cost", "must be >= 0"));
  LATHE_RETURN_IF_ERROR(r.Range(c->fn_cost >= 0, "threshold", "fn_cost", "must be >= 0"));
  LATHE_RETURN_IF_ERROR(r.Range(c->fp_cost + c->fn_cost > 0, "threshold", "fn_cost", "and fp_cost must not both be 0"));

  if (const YAML::Node x = root["xgboost"]) {
    LATHE_RETURN_IF_ERROR(r.CheckKeys(x, "xgboost",
                                      {"max_depth", "eta", "n_estimators", "subsample", "colsample_bytree",
                                       "min_child_weight", "nthread", "early_stopping_rounds"}));
    XgbParams& p = c->xgboost;
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "max_depth", &p.max_depth));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "eta", &p.eta));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "n_estimators", &p.n_estimators));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "subsample", &p.subsample));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "colsample_bytree", &p.colsample_bytree));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "min_child_weight", &p.min_child_weight));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "nthread", &p.nthread));
    LATHE_RETURN_IF_ERROR(r.Get(x, "xgboost", "early_stopping_rounds", &p.early_stopping_rounds));
  }
  const XgbParams& p = c->xgboost;
  LATHE_RETURN_IF_ERROR(r.Range(p.max_depth >= 1 && p.max_depth <= 20, "xgboost", "max_depth", "must be in [1, 20]"));
  LATHE_RETURN_IF_ERROR(r.Range(p.eta > 0 && p.eta <= 1, "xgboost", "eta", "must be in (0, 1]"));
  LATHE_RETURN_IF_ERROR(r.Range(p.n_estimators >= 1, "xgboost", "n_estimators", "must be >= 1"));
  LATHE_RETURN_IF_ERROR(r.Range(p.subsample > 0 && p.subsample <= 1, "xgboost", "subsample", "must be in (0, 1]"));
  LATHE_RETURN_IF_ERROR(r.Range(p.colsample_bytree > 0 && p.colsample_bytree <= 1, "xgboost", "colsample_bytree",
                                "must be in (0, 1]"));
  LATHE_RETURN_IF_ERROR(r.Range(p.min_child_weight >= 0, "xgboost", "min_child_weight", "must be >= 0"));
  LATHE_RETURN_IF_ERROR(r.Range(p.nthread >= 1, "xgboost", "nthread", "must be >= 1"));
  LATHE_RETURN_IF_ERROR(r.Range(p.early_stopping_rounds >= 1, "xgboost", "early_stopping_rounds", "must be >= 1"));

  if (const YAML::Node l = root["logistic"]) {
    LATHE_RETURN_IF_ERROR(r.CheckKeys(l, "logistic", {"l2", "max_iterations"}));
    LATHE_RETURN_IF_ERROR(r.Get(l, "logistic", "l2", &c->logistic.l2));
    LATHE_RETURN_IF_ERROR(r.Get(l, "logistic", "max_iterations", &c->logistic.max_iterations));
  }
  LATHE_RETURN_IF_ERROR(r.Range(c->logistic.l2 >= 0, "logistic", "l2", "must be >= 0"));
  LATHE_RETURN_IF_ERROR(r.Range(c->logistic.max_iterations >= 1, "logistic", "max_iterations", "must be >= 1"));
  c->xgboost.seed = c->seed;
  return Status::OK();
}

// The rows `idx` of m as a contiguous matrix, with their labels, customers and times.
struct Part {
  std::vector<float> values, labels;
  std::vector<int64_t> customers, ts;
  size_t rows = 0, cols = 0;
  DenseView view() const { return {values.data(), rows, cols}; }
};
Part Gather(const FeatureMatrix& m, const std::vector<int64_t>& customer_ids, const std::vector<size_t>& idx) {
  Part p;
  p.rows = idx.size();
  p.cols = m.cols;
  p.values.reserve(idx.size() * m.cols);
  for (size_t i : idx) {
    p.values.insert(p.values.end(), m.row(i), m.row(i) + m.cols);
    p.labels.push_back(m.labels[i]);
    p.customers.push_back(customer_ids[i]);
    p.ts.push_back(m.ts[i]);
  }
  return p;
}

int64_t CountPositives(const std::vector<float>& labels) {
  int64_t n = 0;
  for (float l : labels) n += l > 0.5f;
  return n;
}

}  // namespace

Result<TrainConfig> ParseTrainConfig(const std::string& yaml, const std::string& source) {
  TrainConfig config;
  YamlReader reader(source);
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return config;  // an empty file: every default
    LATHE_RETURN_IF_ERROR(ParseInto(root, reader, &config));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}: not valid YAML: {}", source, e.what()));
  }
  return config;
}

Result<TrainConfig> LoadTrainConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read training config {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTrainConfig(ss.str(), path);
}

Result<std::vector<int64_t>> CustomerIdsOf(const FeatureMatrix& m, const FeatureInput& input) {
  std::unordered_map<int64_t, int64_t> by_tx;
  by_tx.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i) by_tx.emplace(input.transaction_id[i], input.customer_id[i]);
  std::vector<int64_t> out;
  out.reserve(m.rows);
  for (size_t r = 0; r < m.rows; ++r) {
    auto it = by_tx.find(m.transaction_id[r]);
    if (it == by_tx.end())
      return InvalidArgument(fmt::format("train: transaction {} of the matrix is not in the input", m.transaction_id[r]));
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<float>> PredictWith(ModelKind kind, const std::string& model_bytes, DenseView x) {
  if (kind == ModelKind::kXgboost) {
    LATHE_ASSIGN_OR_RETURN(XgbModel model, XgbModel::Load(model_bytes));
    return model.Predict(x);
  }
  LATHE_ASSIGN_OR_RETURN(LogisticModel model, LogisticModel::Load(model_bytes));
  return model.Predict(x);
}

Result<TrainResult> Train(const TrainConfig& config, const std::vector<std::string>& feature_names,
                          const FeatureMatrix& m, const std::vector<int64_t>& customer_ids) {
  if (m.cols != feature_names.size() || m.names != feature_names) {
    std::string missing;
    for (const std::string& name : feature_names) {
      if (std::find(m.names.begin(), m.names.end(), name) == m.names.end()) missing += (missing.empty() ? "" : ", ") + name;
    }
    return InvalidArgument(fmt::format("train: the matrix has {} columns but the model expects {} ({}){}", m.cols,
                                       feature_names.size(), fmt::join(feature_names, ", "),
                                       missing.empty() ? "" : "; missing: " + missing));
  }
  if (m.values.size() != m.rows * m.cols || m.labels.size() != m.rows || m.ts.size() != m.rows ||
      customer_ids.size() != m.rows)
    return InvalidArgument("train: values, labels, ts and customer ids must match the matrix's rows");

  TrainResult result;
  result.model = config.model;
  LATHE_ASSIGN_OR_RETURN(result.split, TimeSplit(m.ts, config.split));
  const Part fit = Gather(m, customer_ids, result.split.fit);
  const Part valid = Gather(m, customer_ids, result.split.validation);
  const Part test = Gather(m, customer_ids, result.split.test);
  if (static_cast<int64_t>(fit.rows) < config.min_train_rows)
    return InvalidArgument(fmt::format("train: the training window has {} rows, fewer than min_train_rows = {}",
                                       fit.rows, config.min_train_rows));
  const int64_t fit_pos = CountPositives(fit.labels);
  if (fit_pos == 0) return InvalidArgument(fmt::format("train: the training window ({} rows) has no fraud label", fit.rows));
  if (valid.rows == 0 || CountPositives(valid.labels) == 0)
    return InvalidArgument(fmt::format("train: the validation window ({} rows) has no fraud label", valid.rows));
  if (test.rows == 0) return InvalidArgument("train: the test window has no rows");

  // Class imbalance: each fraud row weighs positive_weight (auto = the
  // negatives-to-positives ratio, which gives both classes equal total weight).
  result.positive_weight = config.positive_weight > 0
                               ? config.positive_weight
                               : static_cast<double>(fit.rows - fit_pos) / static_cast<double>(fit_pos);
  std::vector<float> weights(fit.rows);
  for (size_t i = 0; i < fit.rows; ++i)
    weights[i] = fit.labels[i] > 0.5f ? static_cast<float>(result.positive_weight) : 1.0f;

  if (config.model == ModelKind::kXgboost) {
    XgbParams params = config.xgboost;
    params.seed = config.seed;
    LATHE_ASSIGN_OR_RETURN(XgbModel model,
                           XgbModel::Train(params, fit.view(), fit.labels, weights, valid.view(), valid.labels));
    result.rounds = model.rounds();
    LATHE_ASSIGN_OR_RETURN(result.model_bytes, model.Save());
  } else {
    LATHE_ASSIGN_OR_RETURN(LogisticModel model, LogisticModel::Train(config.logistic, fit.view(), fit.labels, weights));
    result.model_bytes = model.Save();
  }
  // Score from the saved bytes, so the metrics describe exactly what is shipped.
  LATHE_ASSIGN_OR_RETURN(std::vector<float> valid_scores, PredictWith(config.model, result.model_bytes, valid.view()));
  LATHE_ASSIGN_OR_RETURN(std::vector<float> test_scores, PredictWith(config.model, result.model_bytes, test.view()));
  if (config.threshold_rule == ThresholdRule::kTargetRecall) {
    LATHE_ASSIGN_OR_RETURN(result.threshold, ThresholdForRecall(valid_scores, valid.labels, config.target_recall));
  } else {
    LATHE_ASSIGN_OR_RETURN(result.threshold,
                           ThresholdForCost(valid_scores, valid.labels, config.fp_cost, config.fn_cost));
  }
  const int k = config.card_precision_k;
  result.validation = Evaluate(valid_scores, valid.labels, valid.customers, valid.ts, result.threshold, k);
  result.test = Evaluate(test_scores, test.labels, test.customers, test.ts, result.threshold, k);
  result.test_curve = Curve(test_scores, test.labels);
  return result;
}

}  // namespace lathe::ml
