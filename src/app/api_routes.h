// The HTTP API's route table: binds each documented route (docs/api.md) to
// the Assistant, with authentication (API keys and scopes), request
// validation and OpenAI-style error bodies. Handlers are coroutines on the
// server's I/O threads; the Assistant posts their CPU work to the pool.
#pragma once

#include "app/assistant.h"
#include "ml/serve/model_server.h"
#include "net/http_server.h"

namespace lathe::app {

// The fraud model routes' dependencies (docs/serving.md).
struct ModelService {
  ml::ModelServer* server = nullptr;  // null: model serving is disabled (models.enabled: false)
  size_t max_batch = 1000;
  boost::asio::thread_pool* pool = nullptr;  // where features and scoring run
};

// assistant, metrics and models.server must outlive the server.
void AddApiRoutes(net::HttpServer* server, Assistant* assistant, net::MetricsRegistry* metrics,
                  ModelService models = {});

}  // namespace lathe::app
