#include "ml/serve/loaded_model.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

namespace lathe::ml {

Result<RowScores> LoadedModel::Score(DenseView x, bool with_contributions) const {
  RowScores out;
  if (xgb_) {
    std::lock_guard<std::mutex> lock(xgb_mu_);
    LATHE_ASSIGN_OR_RETURN(out.probability, xgb_->Predict(x));
    if (with_contributions) {
      LATHE_ASSIGN_OR_RETURN(out.contributions, xgb_->Contributions(x));
    }
  } else {
    LATHE_ASSIGN_OR_RETURN(out.probability, logistic_->Predict(x));
    if (with_contributions) {
      LATHE_ASSIGN_OR_RETURN(out.contributions, logistic_->Contributions(x));
    }
  }
  return out;
}

Result<std::shared_ptr<const LoadedModel>> LoadModel(const ModelBundle& bundle, int64_t now) {
  const std::string what = fmt::format("model '{}' version {}", bundle.name, bundle.version);
  auto fail = [&](StatusCode code, std::string why) {
    // XGBoost appends a native stack trace to its messages: keep the reason.
    if (size_t cut = why.find("Stack trace:"); cut != std::string::npos) why.resize(cut);
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    return Status(code, what + ": " + why);
  };
  std::shared_ptr<LoadedModel> m(new LoadedModel());
  m->name_ = bundle.name;
  m->version_ = bundle.version;
  m->kind_ = bundle.kind;
  m->threshold_ = bundle.threshold;
  m->spec_yaml_ = bundle.feature_spec_yaml;
  m->loaded_at_ = now;
  if (!(bundle.threshold >= 0 && bundle.threshold <= 1))
    return fail(StatusCode::kInvalidArgument, fmt::format("threshold {} is not in [0, 1]", bundle.threshold));
  auto spec = ParseFeatureSpec(bundle.feature_spec_yaml, "feature spec");
  if (!spec.ok()) return fail(StatusCode::kInvalidArgument, spec.status().message());
  m->spec_ = std::move(*spec);
  size_t width = 0;
  if (bundle.kind == "xgboost") {
    auto model = XgbModel::Load(bundle.model_bytes);
    if (!model.ok()) return fail(StatusCode::kCorruption, model.status().message());
    Status st = model->SetThreads(1);  // single requests: one thread is fastest (DESIGN.md)
    if (!st.ok()) return fail(st.code(), st.message());
    width = model->num_features();
    m->xgb_.emplace(std::move(*model));
  } else if (bundle.kind == "logistic") {
    auto model = LogisticModel::Load(bundle.model_bytes);
    if (!model.ok()) return fail(StatusCode::kCorruption, model.status().message());
    width = model->coefficients().size();
    m->logistic_.emplace(std::move(*model));
  } else {
    return fail(StatusCode::kInvalidArgument, "kind '" + bundle.kind + "' is not xgboost or logistic");
  }
  const size_t expected = m->spec_.features.size();
  if (width != expected)
    return fail(StatusCode::kInvalidArgument,
                fmt::format("the model takes {} features but its feature spec '{}' has {}", width, m->spec_.name,
                            expected));
  // A probe row with every feature missing: the model must score it.
  std::vector<float> probe(expected, NAN);
  auto scores = m->Score(DenseView{probe.data(), 1, expected}, true);
  if (!scores.ok()) return fail(scores.status().code(), "probe row: " + scores.status().message());
  if (scores->probability.size() != 1 || !std::isfinite(scores->probability[0]))
    return fail(StatusCode::kCorruption, "probe row did not score to a finite probability");
  return std::shared_ptr<const LoadedModel>(std::move(m));
}

bool SameFeatures(const FeatureSpec& a, const FeatureSpec& b) {
  if (a.features.size() != b.features.size()) return false;
  for (size_t i = 0; i < a.features.size(); ++i) {
    const FeatureDef& x = a.features[i];
    const FeatureDef& y = b.features[i];
    const bool same_missing = (std::isnan(x.missing) && std::isnan(y.missing)) || x.missing == y.missing;
    if (x.name != y.name || x.kind != y.kind || x.window_s != y.window_s || x.delay_s != y.delay_s ||
        x.from_hour != y.from_hour || x.to_hour != y.to_hour || !same_missing)
      return false;
  }
  return true;
}

}  // namespace lathe::ml
