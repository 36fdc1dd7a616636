// ServeConfig: the effective configuration of `lathe serve`: built-in
// defaults, then lathe.yaml, then environment variables (LATHE_<SECTION>_<KEY>,
// e.g. LATHE_LLM_API_KEY), then command-line flags. Every key is described
// once in a field table, which also drives validation, the environment names
// and --print-config (secrets masked). Plain value; not thread-safe to mutate.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/http_server.h"

namespace lathe::app {

struct LlmConfig {
  std::string base_url;  // e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1
  std::string model = "gpt-4o-mini";
  std::string api_key;   // secret; prefer LATHE_LLM_API_KEY
  int64_t timeout_ms = 30000;          // overall deadline of one answer, retries included
  int64_t per_try_timeout_ms = 15000;
  int64_t max_tries = 3;
  int64_t backoff_base_ms = 200;
  int64_t backoff_max_ms = 2000;
  int64_t max_concurrent = 256;
  int64_t breaker_failures = 5;
  int64_t breaker_cooldown_ms = 10000;
  double temperature = 0.0;
  int64_t max_tokens = 512;
};

struct EmbeddingsConfig {
  std::string backend = "local";  // local (the collection's LSA/hash embedder) | openai
  std::string base_url;
  std::string model = "text-embedding-3-small";
  std::string api_key;  // secret; prefer LATHE_EMBEDDINGS_API_KEY
  int64_t dim = 0;  // vector size; 0: asked of the server at start
  std::string query_prefix;    // prepended to queries (E5/BGE-style models want "query: ")
  std::string passage_prefix;  // prepended to chunks ("passage: ")
  int64_t batch_size = 64;
  int64_t timeout_ms = 10000;  // one request's limit (a whole call may retry max_tries times)
  int64_t max_tries = 3;
  int64_t max_concurrent = 8;
};

struct AnswerConfig {
  std::string backend = "extractive";  // extractive | openai
  double abstain_threshold = 0.5;      // evidence score below which the assistant hands off
  std::string handoff_message =
      "I couldn't find this in our help centre, so I'm handing you to a member of our support team.";
  int64_t top_k = 5;                  // passages given to the answerer
  int64_t max_context_tokens = 3000;  // passage budget in the prompt
  int64_t history_turns = 4;          // turns condensed into the prompt
  std::string retriever = "hybrid";
};

struct ConversationsConfig {
  int64_t ttl_hours = 24;
};

// The fraud model server (docs/serving.md).
struct ModelsConfig {
  bool enabled = true;         // host /v1/models/{name}/predict
  std::string name = "fraud";  // the one model name served
  int64_t poll_seconds = 30;   // probe the champion this often; 0 = only on POST .../reload
  std::string db;              // the transactions store (URL); empty: the data directory's lathe.db
  // Interim champion source until the registry is wired: DIR/NAME.json.
  // Empty: <data-dir>/champions.
  std::string dir;
  int64_t max_batch = 1000;    // transactions per predict request
  int64_t top_features = 5;    // contributions returned per prediction
  // The tenant whose keys see the ML workspace (runs, registry, pipelines,
  // validation; docs/api.md); other tenants' keys get 404 there.
  std::string tenant = "default";
};

// The DAGs the HTTP API lists and triggers (docs/api.md).
struct PipelinesConfig {
  std::string dir = "pipelines";  // DAG files; relative to the working directory
};

// Fault injection for tests and benchmarks: added waits in the chat pipeline.
struct TestingConfig {
  int64_t delay_history_ms = 0;
  int64_t delay_bm25_ms = 0;
  int64_t delay_embed_ms = 0;
};

// The web UI (docs/ui.md).
struct UiConfig {
  bool enabled = true;  // serve it at / and /ui/...
  std::string dir;      // serve the files from this folder instead of the embedded copies
};

struct ServeConfig {
  net::ServerOptions server;
  LlmConfig llm;
  EmbeddingsConfig embeddings;
  AnswerConfig answer;
  ConversationsConfig conversations;
  ModelsConfig models;
  PipelinesConfig pipelines;
  TestingConfig testing;
  UiConfig ui;
};

// Applies lathe.yaml (path may be empty: none). InvalidArgument naming the
// file, the key and the problem (unknown key, wrong type, out of range).
Status LoadConfigFile(const std::string& path, ServeConfig* config);
// Applies LATHE_<SECTION>_<KEY> variables from env (name -> value).
Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServeConfig* config);
// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();
// Cross-field checks (an openai backend needs a base_url, ...).
Status ValidateConfig(const ServeConfig& config);
// YAML of the effective configuration; secrets shown as "****" when set.
std::string PrintConfig(const ServeConfig& config);

}  // namespace lathe::app
