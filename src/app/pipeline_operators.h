// The operators the `lathe` binary knows: the pipeline's built-ins (shell,
// webhook) and the fraud pipeline's ML operators. Add one with a line in
// pipeline_operators.cc. Filled on first use; read-only afterwards.
#pragma once

#include "pipeline/operator.h"

namespace lathe::app {

const pipeline::OperatorRegistry& PipelineOperators();

}  // namespace lathe::app
