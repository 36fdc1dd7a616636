#include "ml/train/logistic.h"

#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lathe::ml {
namespace {

constexpr int kFormatVersion = 1;

// x standardised with mean/scale, NaN -> 0 (the mean), plus a leading 1 column.
Eigen::MatrixXd Design(DenseView x, const std::vector<double>& mean, const std::vector<double>& scale) {
  Eigen::MatrixXd d(x.rows, x.cols + 1);
  for (size_t r = 0; r < x.rows; ++r) {
    d(r, 0) = 1.0;
    for (size_t c = 0; c < x.cols; ++c) {
      const float v = x.values[r * x.cols + c];
      d(r, c + 1) = std::isnan(v) ? 0.0 : (v - mean[c]) / scale[c];
    }
  }
  return d;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

Result<LogisticModel> LogisticModel::Train(const LogisticParams& p, DenseView x, const std::vector<float>& labels,
                                           const std::vector<float>& weights) {
  if (x.rows == 0 || x.cols == 0 || x.values == nullptr) return InvalidArgument("logistic: empty training matrix");
  if (labels.size() != x.rows) return InvalidArgument("logistic: labels must have one value per row");
  if (!weights.empty() && weights.size() != x.rows)
    return InvalidArgument("logistic: weights must be empty or one per row");
  if (!(p.l2 >= 0) || p.max_iterations < 1) return InvalidArgument("logistic: l2 must be >= 0 and max_iterations >= 1");

  LogisticModel m;
  m.mean_.assign(x.cols, 0);
  m.scale_.assign(x.cols, 1);
  for (size_t c = 0; c < x.cols; ++c) {
    double sum = 0, sq = 0;
    size_t n = 0;
    for (size_t r = 0; r < x.rows; ++r) {
      const float v = x.values[r * x.cols + c];
      if (std::isnan(v)) continue;
      sum += v;
      sq += static_cast<double>(v) * v;
      ++n;
    }
    if (n == 0) continue;  // all missing: the column is 0 after imputation
    m.mean_[c] = sum / n;
    const double var = sq / n - m.mean_[c] * m.mean_[c];
    m.scale_[c] = var > 1e-12 ? std::sqrt(var) : 1.0;  // constant column: leave unscaled
  }

  const Eigen::MatrixXd d = Design(x, m.mean_, m.scale_);
  Eigen::VectorXd y(x.rows), w(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    y(r) = labels[r] > 0.5f ? 1.0 : 0.0;
    w(r) = weights.empty() ? 1.0 : weights[r];
  }
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(d.cols());
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(d.cols(), p.l2);
  penalty(0) = 0;  // the intercept is not shrunk
  for (int it = 0; it < p.max_iterations; ++it) {
    const Eigen::VectorXd prob = (d * beta).unaryExpr([](double z) { return Sigmoid(z); });
    const Eigen::VectorXd grad = d.transpose() * (w.cwiseProduct(prob - y)) + penalty.cwiseProduct(beta);
    const Eigen::VectorXd curvature = w.cwiseProduct(prob.cwiseProduct((1.0 - prob.array()).matrix()));
    Eigen::MatrixXd hessian = d.transpose() * curvature.asDiagonal() * d;
    hessian.diagonal() += penalty;
    hessian.diagonal().array() += 1e-9;  // keeps a separable or constant column solvable
    const Eigen::VectorXd step = hessian.ldlt().solve(grad);
    if (!step.allFinite()) return Internal("logistic: Newton step is not finite");
    beta -= step;
    if (step.cwiseAbs().maxCoeff() < p.tolerance) break;
  }
  m.intercept_ = beta(0);
  m.coef_.assign(beta.data() + 1, beta.data() + beta.size());
  return m;
}

Result<std::vector<float>> LogisticModel::Predict(DenseView x) const {
  if (x.rows == 0) return std::vector<float>{};
  if (x.cols != coef_.size())
    return InvalidArgument(fmt::format("logistic: the model expects {} features, got {}", coef_.size(), x.cols));
  std::vector<float> out(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    double z = intercept_;
    for (size_t c = 0; c < x.cols; ++c) {
      const float v = x.values[r * x.cols + c];
      if (!std::isnan(v)) z += coef_[c] * (v - mean_[c]) / scale_[c];
    }
    out[r] = static_cast<float>(Sigmoid(z));
  }
  return out;
}

Result<std::vector<float>> LogisticModel::Contributions(DenseView x) const {
  if (x.rows == 0) return std::vector<float>{};
  if (x.cols != coef_.size())
    return InvalidArgument(fmt::format("logistic: the model expects {} features, got {}", coef_.size(), x.cols));
  const size_t width = x.cols + 1;
  std::vector<float> out(x.rows * width, 0.0f);
  for (size_t r = 0; r < x.rows; ++r) {
    for (size_t c = 0; c < x.cols; ++c) {
      const float v = x.values[r * x.cols + c];
      if (!std::isnan(v)) out[r * width + c] = static_cast<float>(coef_[c] * (v - mean_[c]) / scale_[c]);
    }
    out[r * width + x.cols] = static_cast<float>(intercept_);
  }
  return out;
}

std::string LogisticModel::Save() const {
  nlohmann::json j = {{"format", "lathe-logistic"}, {"version", kFormatVersion}, {"mean", mean_},
                      {"scale", scale_},           {"coef", coef_},             {"intercept", intercept_}};
  return j.dump();
}

Result<LogisticModel> LogisticModel::Load(const std::string& bytes) {
  try {
    const nlohmann::json j = nlohmann::json::parse(bytes);
    if (j.at("format").get<std::string>() != "lathe-logistic") return Corruption("logistic: not a logistic model");
    if (j.at("version").get<int>() != kFormatVersion)
      return Corruption(fmt::format("logistic: unsupported model version {}", j.at("version").get<int>()));
    LogisticModel m;
    m.mean_ = j.at("mean").get<std::vector<double>>();
    m.scale_ = j.at("scale").get<std::vector<double>>();
    m.coef_ = j.at("coef").get<std::vector<double>>();
    m.intercept_ = j.at("intercept").get<double>();
    if (m.mean_.size() != m.coef_.size() || m.scale_.size() != m.coef_.size())
      return Corruption("logistic: mean, scale and coef lengths differ");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Corruption(fmt::format("logistic: bad model: {}", e.what()));
  }
}

}  // namespace lathe::ml
