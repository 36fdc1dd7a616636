// The fraud pipeline's operators (docs/pipelines.md, "The fraud operators"):
// extract, validate, features, train, evaluate, promote and deploy, each one
// step of pipelines/fraud-daily.yaml over the ML store named by the task's
// db URL and the data directory. Every try may be repeated: an operator
// whose effect already happened for the pipeline run (a registered version,
// an applied promotion) reports it instead of doing it again.
#pragma once

#include "pipeline/operator.h"

namespace lathe::app {

void RegisterMlOperators(pipeline::OperatorRegistry* registry);

}  // namespace lathe::app
