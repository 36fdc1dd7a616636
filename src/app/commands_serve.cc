// `lathe serve` (the HTTP API) and `lathe keys` (API keys).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/api_keys.h"
#include "app/api_routes.h"
#include "app/assistant.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/llm_factory.h"
#include "app/ml_routes.h"
#include "app/pipeline_operators.h"
#include "app/ui_assets.h"
#include "common/logging.h"
#include "ml/serve/dir_model_source.h"
#include "ml/serve/model_server.h"
#include "ml/track/ml_store.h"
#include "storage/db.h"

namespace lathe::app {
namespace {

struct ServeFlags {
  std::string config_path;
  int port = -1;  // -1: from the configuration
  std::string host;
  std::string ui_dir;
  bool print_config = false;
};

// Where champions come from: the registry's "champion" alias in the ML store
// (models.db), with its artifacts verified on every load; or, when models.dir
// is set, DIR/NAME.json files (DirModelSource, for development and tests).
// Each call opens its own connection: the loader (reload route, on the CPU
// pool) and the probe (poller thread) may run at once and a Db is not
// thread-safe.
std::pair<ml::ModelLoader, ml::ModelVersionProbe> MakeModelSource(const ModelsConfig& config,
                                                                 const std::string& data_dir) {
  if (!config.dir.empty()) return {ml::DirModelLoader(config.dir), ml::DirModelProbe(config.dir)};
  const std::string url = config.db;
  ml::ModelLoader loader = [url, data_dir](const std::string& name) -> Result<std::optional<ml::ModelBundle>> {
    LATHE_ASSIGN_OR_RETURN(ml::MlStore store, ml::OpenMlStore(url, data_dir));
    LATHE_ASSIGN_OR_RETURN(std::optional<ml::ModelArtifacts> m, store.registry->LoadAlias(name, ml::kChampion));
    if (!m) return std::optional<ml::ModelBundle>();
    return std::optional<ml::ModelBundle>(ml::ModelBundle{name, m->version.version, m->version.kind,
                                                          std::move(m->model_bytes), m->version.threshold,
                                                          std::move(m->feature_spec_yaml)});
  };
  ml::ModelVersionProbe probe = [url, data_dir](const std::string& name) -> Result<std::optional<int64_t>> {
    LATHE_ASSIGN_OR_RETURN(ml::MlStore store, ml::OpenMlStore(url, data_dir));
    LATHE_ASSIGN_OR_RETURN(std::optional<ml::ModelVersion> v, store.registry->GetAlias(name, ml::kChampion));
    if (!v) return std::optional<int64_t>();
    return std::optional<int64_t>(v->version);
  };
  return {loader, probe};
}

std::unique_ptr<ml::ModelServer> MakeModelServer(const ModelsConfig& config, const std::string& data_dir,
                                                 net::MetricsRegistry* metrics) {
  auto* swaps = metrics->AddCounter("lathe_model_swaps_total", "Model version loads: ok or error (old one kept)",
                                    {"model", "outcome"});
  auto* version = metrics->AddGauge("lathe_model_version", "The model version serving (0: none)", {"model"});
  ml::ModelServerOptions options;
  options.name = config.name;
  options.poll_seconds = config.poll_seconds;
  options.top_features = static_cast<size_t>(config.top_features);
  options.on_swap = [swaps, version, name = config.name](const char* outcome, int64_t v) {
    swaps->With({name, outcome}).Add();
    if (std::string_view(outcome) == "ok") version->With({name}).Set(static_cast<double>(v));
  };
  auto [loader, probe] = MakeModelSource(config, data_dir);
  std::string url = config.db;
  auto open_store = [url, data_dir]() { return storage::OpenDb(url, data_dir); };
  version->With({config.name}).Set(0);
  return std::make_unique<ml::ModelServer>(options, loader, probe, open_store);
}

int RunServe(AppContext* ctx, const ServeFlags& flags) {
  // Termination signals are taken by sigwait below, so every thread (the CPU
  // pool's and the I/O threads, created later) must block them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServeConfig config;
  config.server.io_threads = 2;
  Status st = LoadConfigFile(flags.config_path, &config);
  if (st.ok()) st = ApplyEnvironment(ProcessEnvironment(), &config);
  if (st.ok() && flags.port >= 0) {
    if (flags.port > 65535) st = InvalidArgument("--port must be between 0 and 65535");
    config.server.port = static_cast<uint16_t>(flags.port);
  }
  if (!flags.host.empty()) config.server.host = flags.host;
  if (!flags.ui_dir.empty()) config.ui.dir = flags.ui_dir;
  if (st.ok()) st = ValidateConfig(config);
  if (!st.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", st.message().c_str());
    return 2;
  }
  if (flags.print_config) {
    std::fputs(PrintConfig(config).c_str(), stdout);
    return 0;
  }
  InitLogging(ctx->settings.log_level);

  net::MetricsRegistry metrics;
  net::HttpServer server(config.server, &metrics);
  auto llm = MakeLlmClient(config, server.io_context().get_executor(), &metrics);
  if (!llm.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", llm.status().message().c_str());
    return 2;
  }
  auto embedder = MakeRemoteEmbedder(config, &metrics);
  if (!embedder.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", embedder.status().message().c_str());
    return embedder.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  ctx->settings.embedder_override = *embedder;
  Assistant assistant(ctx, config, &metrics, llm->get());
  st = assistant.Open();
  if (!st.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", st.ToString().c_str());
    return 1;
  }
  // The fraud model (docs/serving.md): the registry's champion, hot-swapped.
  std::unique_ptr<ml::ModelServer> models;
  ModelService model_service;
  if (config.models.enabled) {
    models = MakeModelServer(config.models, ctx->settings.data_dir, &metrics);
    model_service = {models.get(), static_cast<size_t>(config.models.max_batch), &ctx->pool->executor_pool()};
  }
  AddApiRoutes(&server, &assistant, &metrics, model_service);
  AddMlRoutes(&server, assistant.keys(),
              {ctx->settings.data_dir, config.models.db, config.models.tenant, config.pipelines.dir, &PipelineOperators(),
               models.get(), &ctx->pool->executor_pool(), ""});
  if (config.ui.enabled) {
    if (!config.ui.dir.empty() && !std::filesystem::is_regular_file(config.ui.dir + "/index.html")) {
      std::fprintf(stderr, "lathe serve: ui.dir %s has no index.html\n", config.ui.dir.c_str());
      return 2;
    }
    AddUiRoutes(&server, std::make_shared<const UiAssets>(config.ui.dir));
  }
  st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("lathe: listening on http://%s:%u (answer backend: %s, embeddings: %s)\n", config.server.host.c_str(),
              server.port(), *llm ? (*llm)->name().c_str() : "extractive",
              *embedder ? (*embedder)->id().c_str() : "built-in");
  if (config.ui.enabled) {
    std::printf("lathe: web UI at http://%s:%u/%s\n", config.server.host.c_str(), server.port(),
                config.ui.dir.empty() ? "" : (" (files from " + config.ui.dir + ")").c_str());
  }
  std::fflush(stdout);
  st = assistant.LoadCollections();
  if (!st.ok()) {
    std::fprintf(stderr, "lathe serve: %s\n", st.ToString().c_str());
    server.Stop();
    return 1;
  }
  if (models) {
    models->Start();  // a missing or broken champion is reported, never fatal
    auto current = models->current();
    if (current) {
      std::printf("lathe: model '%s' version %lld (%s) loaded\n", models->name().c_str(),
                  static_cast<long long>(current->version()), current->kind().c_str());
    } else {
      std::printf("lathe: model '%s' has no champion yet; predict answers 503 until one is loaded\n",
                  models->name().c_str());
    }
  }
  std::printf("lathe: ready\n");
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  LOG_INFO("signal {}: draining {} in-flight requests, then stopping", received, server.in_flight());
  server.Stop();
  if (models) models->Stop();
  std::printf("lathe: stopped\n");
  return 0;
}

int RunKeysCreate(AppContext* ctx, const std::string& tenant, const std::string& scope_name,
                  const std::string& name) {
  auto scope = ParseScope(scope_name);
  Status st = scope.ok() ? ctx->Open() : scope.status();
  if (!st.ok()) {
    std::fprintf(stderr, "lathe keys create: %s\n", st.message().c_str());
    return 2;
  }
  auto key = CreateApiKey(ctx->catalog->db(), tenant, *scope, name);
  if (!key.ok()) {
    std::fprintf(stderr, "lathe keys create: %s\n", key.status().message().c_str());
    return 2;
  }
  std::printf("%s\n", key->c_str());
  std::fprintf(stderr, "Key for tenant '%s' with scope '%s'. It is shown only now; store it safely.\n",
               tenant.c_str(), scope_name.c_str());
  return 0;
}

int RunKeysList(AppContext* ctx) {
  Status st = ctx->Open();
  if (!st.ok()) {
    std::fprintf(stderr, "lathe keys list: %s\n", st.message().c_str());
    return 1;
  }
  auto keys = ListApiKeys(ctx->catalog->db());
  if (!keys.ok()) {
    std::fprintf(stderr, "lathe keys list: %s\n", keys.status().message().c_str());
    return 1;
  }
  std::printf("%-14s %-20s %-6s %-21s %-8s %s\n", "KEY ID", "TENANT", "SCOPE", "CREATED", "STATUS", "NAME");
  for (const auto& k : *keys) {
    std::printf("%-14s %-20s %-6s %-21s %-8s %s\n", k.key_id.c_str(), k.tenant.c_str(), ScopeName(k.scope),
                k.created_at.c_str(), k.revoked ? "revoked" : "active", k.name.c_str());
  }
  return 0;
}

int RunKeysRevoke(AppContext* ctx, const std::string& key_id) {
  Status st = ctx->Open();
  if (st.ok()) st = RevokeApiKey(ctx->catalog->db(), key_id);
  if (!st.ok()) {
    std::fprintf(stderr, "lathe keys revoke: %s\n", st.message().c_str());
    return st.code() == StatusCode::kNotFound ? 2 : 1;
  }
  std::printf("revoked %s\n", key_id.c_str());
  return 0;
}

}  // namespace

void RegisterServeCommands(CLI::App* app, AppContext* ctx, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  auto* serve = app->add_subcommand("serve", "Run the HTTP API (search, chat, OpenAI-compatible façade)");
  serve->add_option("--config", flags->config_path, "lathe.yaml with server, llm, answer... sections");
  serve->add_option("--port", flags->port, "Port to listen on (overrides server.port; 0 picks a free one)");
  serve->add_option("--host", flags->host, "Address to listen on (overrides server.host)");
  serve->add_option("--ui-dir", flags->ui_dir,
                    "Serve the web UI from this folder instead of the copy built in (overrides ui.dir; development)");
  serve->add_flag("--print-config", flags->print_config, "Print the effective configuration (secrets masked) and exit");
  serve->callback([=] { *exit_code = RunServe(ctx, *flags); });

  auto* keys = app->add_subcommand("keys", "Manage API keys");
  keys->require_subcommand(1);
  auto tenant = std::make_shared<std::string>("default");
  auto scope = std::make_shared<std::string>("query");
  auto name = std::make_shared<std::string>();
  auto* create = keys->add_subcommand("create", "Create a key and print it once");
  create->add_option("--tenant", *tenant, "Tenant the key belongs to")->capture_default_str();
  create->add_option("--scope", *scope, "query (search, chat) or admin (also ingest and delete)")
      ->check(CLI::IsMember({"query", "admin"}))
      ->capture_default_str();
  create->add_option("--name", *name, "A note to recognise the key by");
  create->callback([=] { *exit_code = RunKeysCreate(ctx, *tenant, *scope, *name); });
  keys->add_subcommand("list", "List keys (ids, tenants, scopes; never the secrets)")->callback([=] {
    *exit_code = RunKeysList(ctx);
  });
  auto key_id = std::make_shared<std::string>();
  auto* revoke = keys->add_subcommand("revoke", "Revoke a key by its id");
  revoke->add_option("key_id", *key_id, "The key id shown by 'keys list'")->required();
  revoke->callback([=] { *exit_code = RunKeysRevoke(ctx, *key_id); });
}

}  // namespace lathe::app
