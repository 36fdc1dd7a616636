// The HTTP API's route table: binds each documented route (docs/api.md) to
// the Assistant, with authentication (API keys and scopes), request
// validation and OpenAI-style error bodies. Handlers are coroutines on the
// server's I/O threads; the Assistant posts their CPU work to the pool.
#pragma once

#include "app/assistant.h"
#include "net/http_server.h"

namespace lathe::app {

// assistant and metrics must outlive the server.
void AddApiRoutes(net::HttpServer* server, Assistant* assistant, net::MetricsRegistry* metrics);

}  // namespace lathe::app
