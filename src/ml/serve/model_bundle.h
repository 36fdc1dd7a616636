// ModelBundle and the two callbacks the model server gets its models
// through: a loader (the current champion's bytes) and a cheap version
// probe. The registry (or, until it is wired, DirModelSource) provides them.
// Pure values; the callbacks are called from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace lathe::ml {

// One model version as the registry hands it over.
struct ModelBundle {
  std::string name;
  int64_t version = 0;
  std::string kind;         // "xgboost" | "logistic"
  std::string model_bytes;  // TrainResult::model_bytes
  double threshold = 0.5;   // flag when probability >= threshold
  std::string feature_spec_yaml;
};

// The current champion of model `name`; nullopt when there is none. An error
// when the source cannot be read (the server keeps what it serves).
using ModelLoader = std::function<Result<std::optional<ModelBundle>>(const std::string& name)>;
// Only the champion's version (cheap; polled every models.poll_seconds).
using ModelVersionProbe = std::function<Result<std::optional<int64_t>>(const std::string& name)>;

}  // namespace lathe::ml
