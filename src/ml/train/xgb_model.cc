#include "ml/train/xgb_model.h"

#include <xgboost/c_api.h>

#include <utility>

#include <fmt/format.h>

#include "ml/train/metrics.h"

namespace lathe::ml {
namespace {

Status ApiError(const char* call) { return Internal(fmt::format("xgboost: {} failed: {}", call, XGBGetLastError())); }

#define LATHE_XGB(call)                                   \
  do {                                                    \
    if ((call) != 0) return ApiError(#call);              \
  } while (0)

// Owns a DMatrixHandle.
class DMatrix {
 public:
  DMatrix() = default;
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  ~DMatrix() {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
  }
  Status Create(DenseView x) {
    const char* call = "XGDMatrixCreateFromMat";
    if (XGDMatrixCreateFromMat(x.values, x.rows, x.cols, NAN, &handle_) != 0) return ApiError(call);
    return Status::OK();
  }
  Status SetFloat(const char* field, const std::vector<float>& v) {
    if (XGDMatrixSetFloatInfo(handle_, field, v.data(), v.size()) != 0) return ApiError("XGDMatrixSetFloatInfo");
    return Status::OK();
  }
  DMatrixHandle get() const { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

Status CheckView(DenseView x, const char* what) {
  if (x.rows == 0 || x.cols == 0) return InvalidArgument(fmt::format("xgboost: {} matrix is empty", what));
  if (x.values == nullptr) return InvalidArgument(fmt::format("xgboost: {} matrix has no values", what));
  return Status::OK();
}

// type 0 = probabilities, 1 = margins, 2 = SHAP contributions (rows x
// (cols + 1)); iteration_end 0 = every tree kept.
Result<std::vector<float>> PredictHandle(BoosterHandle booster, DMatrixHandle dm, size_t rows, int type = 0,
                                         size_t per_row = 1) {
  const std::string config = fmt::format(
      R"({{"type": {}, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false}})", type);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (XGBoosterPredictFromDMatrix(booster, dm, config.c_str(), &shape, &dim, &out) != 0)
    return ApiError("XGBoosterPredictFromDMatrix");
  return std::vector<float>(out, out + rows * per_row);
}

}  // namespace

XgbModel::XgbModel(XgbModel&& other) noexcept
    : booster_(std::exchange(other.booster_, nullptr)), rounds_(other.rounds_), cols_(other.cols_) {}

XgbModel& XgbModel::operator=(XgbModel&& other) noexcept {
  if (this != &other) {
    if (booster_ != nullptr) XGBoosterFree(booster_);
    booster_ = std::exchange(other.booster_, nullptr);
    rounds_ = other.rounds_;
    cols_ = other.cols_;
  }
  return *this;
}

XgbModel::~XgbModel() {
  if (booster_ != nullptr) XGBoosterFree(booster_);
}

Result<XgbModel> XgbModel::Train(const XgbParams& p, DenseView train, const std::vector<float>& labels,
                                 const std::vector<float>& weights, DenseView validation,
                                 const std::vector<float>& validation_labels) {
  LATHE_RETURN_IF_ERROR(CheckView(train, "training"));
  LATHE_RETURN_IF_ERROR(CheckView(validation, "validation"));
  if (labels.size() != train.rows || validation_labels.size() != validation.rows)
    return InvalidArgument("xgboost: labels must have one value per row");
  if (!weights.empty() && weights.size() != train.rows)
    return InvalidArgument("xgboost: weights must be empty or one per training row");
  if (validation.cols != train.cols)
    return InvalidArgument(fmt::format("xgboost: validation has {} columns, training {}", validation.cols, train.cols));
  if (p.n_estimators < 1 || p.early_stopping_rounds < 1 || p.nthread < 1)
    return InvalidArgument("xgboost: n_estimators, early_stopping_rounds and nthread must be >= 1");

  DMatrix dtrain, dvalid;
  LATHE_RETURN_IF_ERROR(dtrain.Create(train));
  LATHE_RETURN_IF_ERROR(dtrain.SetFloat("label", labels));
  if (!weights.empty()) LATHE_RETURN_IF_ERROR(dtrain.SetFloat("weight", weights));
  LATHE_RETURN_IF_ERROR(dvalid.Create(validation));
  LATHE_RETURN_IF_ERROR(dvalid.SetFloat("label", validation_labels));

  // Both matrices are cached by the booster, so predicting on the validation
  // matrix after each round only adds the newest tree.
  DMatrixHandle cache[2] = {dtrain.get(), dvalid.get()};
  BoosterHandle raw = nullptr;
  LATHE_XGB(XGBoosterCreate(cache, 2, &raw));
  XgbModel model(raw);
  model.cols_ = train.cols;
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
  for (const auto& [key, value] : params) {
    if (XGBoosterSetParam(raw, key, value.c_str()) != 0)
      return Internal(fmt::format("xgboost: XGBoosterSetParam({}={}) failed: {}", key, value, XGBGetLastError()));
  }

  double best_ap = -1;
  int best_round = 0;
  for (int round = 0; round < p.n_estimators; ++round) {
    LATHE_XGB(XGBoosterUpdateOneIter(raw, round, dtrain.get()));
    LATHE_ASSIGN_OR_RETURN(std::vector<float> scores, PredictHandle(raw, dvalid.get(), validation.rows));
    const double ap = AveragePrecision(scores, validation_labels);
    if (ap > best_ap) {
      best_ap = ap;
      best_round = round;
    } else if (round - best_round >= p.early_stopping_rounds) {
      break;
    }
  }
  // Keep trees [0, best_round]: the saved model then scores like the best round.
  BoosterHandle sliced = nullptr;
  LATHE_XGB(XGBoosterSlice(raw, 0, best_round + 1, 1, &sliced));
  XgbModel best(sliced);
  best.cols_ = train.cols;
  best.rounds_ = best_round + 1;
  return best;
}

Result<XgbModel> XgbModel::Load(const std::string& bytes) {
  BoosterHandle raw = nullptr;
  LATHE_XGB(XGBoosterCreate(nullptr, 0, &raw));
  XgbModel model(raw);
  if (bytes.empty()) return Corruption("xgboost: empty model buffer");
  // Lathe saves models as JSON. XGBoost reads any other buffer as its legacy
  // binary format and trusts the lengths inside (a damaged buffer asked for an
  // 8 EB string under AddressSanitizer), so anything else is refused here.
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || bytes[first] != '{')
    return Corruption(fmt::format("xgboost: model buffer is not a JSON model (first byte 0x{:02x}); Lathe saves "
                                  "XGBoost models as JSON",
                                  first == std::string::npos ? 0 : static_cast<unsigned char>(bytes[first])));
  if (XGBoosterLoadModelFromBuffer(raw, bytes.data(), bytes.size()) != 0)
    return Corruption(fmt::format("xgboost: XGBoosterLoadModelFromBuffer failed: {}", XGBGetLastError()));
  bst_ulong features = 0;
  LATHE_XGB(XGBoosterGetNumFeature(raw, &features));
  model.cols_ = features;
  int rounds = 0;
  LATHE_XGB(XGBoosterBoostedRounds(raw, &rounds));
  model.rounds_ = rounds;
  return model;
}

Result<std::vector<float>> XgbModel::Predict(DenseView x) const {
  if (x.rows == 0) return std::vector<float>{};
  if (x.cols != cols_)
    return InvalidArgument(fmt::format("xgboost: the model expects {} features, got {}", cols_, x.cols));
  DMatrix dm;
  LATHE_RETURN_IF_ERROR(dm.Create(x));
  return PredictHandle(booster_, dm.get(), x.rows);
}

Result<std::vector<float>> XgbModel::Margin(DenseView x) const {
  if (x.rows == 0) return std::vector<float>{};
  if (x.cols != cols_)
    return InvalidArgument(fmt::format("xgboost: the model expects {} features, got {}", cols_, x.cols));
  DMatrix dm;
  LATHE_RETURN_IF_ERROR(dm.Create(x));
  return PredictHandle(booster_, dm.get(), x.rows, 1);
}

Result<std::vector<float>> XgbModel::Contributions(DenseView x) const {
  if (x.rows == 0) return std::vector<float>{};
  if (x.cols != cols_)
    return InvalidArgument(fmt::format("xgboost: the model expects {} features, got {}", cols_, x.cols));
  DMatrix dm;
  LATHE_RETURN_IF_ERROR(dm.Create(x));
  return PredictHandle(booster_, dm.get(), x.rows, 2, cols_ + 1);
}

Status XgbModel::SetThreads(int nthread) {
  LATHE_XGB(XGBoosterSetParam(booster_, "nthread", std::to_string(nthread).c_str()));
  return Status::OK();
}

Result<std::string> XgbModel::Save() const {
  bst_ulong len = 0;
  const char* buf = nullptr;
  LATHE_XGB(XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &len, &buf));
  return std::string(buf, len);
}

}  // namespace lathe::ml
