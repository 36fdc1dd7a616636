// The `shell` operator: runs params.command with /bin/sh -c in its own
// process group. stdout and stderr go into the try's log; a non-zero exit is
// a failed try; on cancellation or the try's deadline the whole group gets
// SIGTERM, then SIGKILL after a grace period. The command sees the run in its
// environment (LATHE_DS, LATHE_DS_NODASH, LATHE_DAG_ID, LATHE_RUN_ID,
// LATHE_TASK_ID, LATHE_TRY_NUMBER, LATHE_DATA_DIR, LATHE_DB_URL) and may write
// a JSON object to $LATHE_OUTPUTS, which becomes the task's outputs.
// Params: command (string, required), env (string map), cwd (string).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "pipeline/operator.h"

namespace lathe::pipeline {

Result<std::unique_ptr<Operator>> MakeShellOperator(const nlohmann::json& params);

}  // namespace lathe::pipeline
