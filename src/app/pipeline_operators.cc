#include "app/pipeline_operators.h"

#include "app/ml_operators.h"

namespace lathe::app {

const pipeline::OperatorRegistry& PipelineOperators() {
  static const pipeline::OperatorRegistry registry = [] {
    pipeline::OperatorRegistry r;
    pipeline::RegisterBuiltinOperators(&r);
    RegisterMlOperators(&r);  // extract, validate, features, train, evaluate, promote, deploy
    return r;
  }();
  return registry;
}

}  // namespace lathe::app
