// The HTTP API of the ML workspace (docs/api.md, "The ML workspace"): tracked
// runs and their artifacts, the model registry with promote and rollback,
// the pipeline DAGs with their runs, tries and a trigger, and the stored
// data-validation results with their reports and drift series. Any key of
// the workspace's tenant reads; mutations need the admin scope; other
// tenants get 404. Every store access runs on the CPU pool with its own
// connection (a Db is not thread-safe); handlers never block an I/O thread.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <string>

#include "app/api_keys.h"
#include "ml/serve/model_server.h"
#include "net/http_server.h"
#include "pipeline/operator.h"

namespace lathe::app {

struct MlService {
  std::string data_dir;       // the server's data directory (artifacts, default database, logs)
  std::string db_url;         // the ML store (models.db); "" = DATA_DIR/lathe.db
  std::string tenant = "default";  // models.tenant
  std::string pipelines_dir = "pipelines";  // pipelines.dir
  const pipeline::OperatorRegistry* operators = nullptr;  // to load DAG files
  // Follows promote and rollback (Reload) when it serves the model moved;
  // null when model serving is disabled.
  ml::ModelServer* model_server = nullptr;
  boost::asio::thread_pool* pool = nullptr;  // where store work runs
  std::string lathe_binary;  // the binary a triggered run starts; "" = /proc/self/exe
};

// keys, the operators, model_server and pool must outlive the server. A
// pipeline run started by a trigger is a detached child process reaped by a
// waiter thread; it outlives the server if the server stops first.
void AddMlRoutes(net::HttpServer* server, ApiKeyVerifier* keys, MlService service);

}  // namespace lathe::app
