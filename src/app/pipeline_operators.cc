#include "app/pipeline_operators.h"

namespace lathe::app {

const pipeline::OperatorRegistry& PipelineOperators() {
  static const pipeline::OperatorRegistry registry = [] {
    pipeline::OperatorRegistry r;
    pipeline::RegisterBuiltinOperators(&r);
    // The ML operators register here, one line each, e.g.
    //   r.Register("train", [](pipeline::TaskContext& ctx) -> Result<nlohmann::json> { ... });
    return r;
  }();
  return registry;
}

}  // namespace lathe::app
