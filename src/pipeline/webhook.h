// Webhooks: PostJson sends one JSON body to a URL (src/net HttpClient on a
// private io_context, so it may be called from any thread and blocks until
// done), and the `webhook` operator posts a task's params.body.
// Params: url (http/https, required), body (any JSON; default: dag_id,
// run_id, task_id, ds), headers (string map), timeout (duration, default 10s).
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/operator.h"

namespace lathe::pipeline {

// OK for a 2xx answer; Unavailable naming the URL and the status or error.
// Returns the response body through *response when given.
Status PostJson(const std::string& url, const nlohmann::json& body, std::chrono::milliseconds timeout,
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                std::string* response = nullptr);

Result<std::unique_ptr<Operator>> MakeWebhookOperator(const nlohmann::json& params);

}  // namespace lathe::pipeline
