#include "app/llm_factory.h"

#include "rag/answer/openai_llm.h"
#include "rag/embed/remote_embedder.h"

namespace lathe::app {

using std::chrono::milliseconds;

Result<std::unique_ptr<rag::LlmClient>> MakeLlmClient(const ServeConfig& config, boost::asio::any_io_executor io,
                                                      net::MetricsRegistry* metrics) {
  if (config.answer.backend != "openai") return std::unique_ptr<rag::LlmClient>();
  const LlmConfig& c = config.llm;
  rag::OpenAiLlmOptions o;
  o.base_url = c.base_url;
  o.model = c.model;
  o.api_key = c.api_key;
  o.per_try_timeout = milliseconds(c.per_try_timeout_ms);
  o.max_tries = static_cast<int>(c.max_tries);
  o.backoff_base = milliseconds(c.backoff_base_ms);
  o.backoff_max = milliseconds(c.backoff_max_ms);
  o.breaker_failure_threshold = static_cast<int>(c.breaker_failures);
  o.breaker_cool_down = milliseconds(c.breaker_cooldown_ms);
  o.max_concurrent = static_cast<size_t>(c.max_concurrent);
  o.metrics = metrics;
  auto llm = rag::OpenAiLlm::Create(std::move(io), std::move(o));
  if (!llm.ok()) return InvalidArgument("llm: " + llm.status().message());
  return std::unique_ptr<rag::LlmClient>(std::move(llm).value());
}

Result<std::shared_ptr<const rag::Embedder>> MakeRemoteEmbedder(const ServeConfig& config,
                                                                net::MetricsRegistry* metrics) {
  if (config.embeddings.backend != "openai") return std::shared_ptr<const rag::Embedder>();
  const EmbeddingsConfig& c = config.embeddings;
  rag::RemoteEmbedderOptions o;
  o.base_url = c.base_url;
  o.model = c.model;
  o.api_key = c.api_key;
  o.dim = static_cast<int>(c.dim);
  o.batch_size = static_cast<int>(c.batch_size);
  o.max_concurrent = static_cast<size_t>(c.max_concurrent);
  o.query_prefix = c.query_prefix;
  o.passage_prefix = c.passage_prefix;
  o.per_try_timeout = milliseconds(c.timeout_ms);
  o.call_timeout = milliseconds(c.timeout_ms * c.max_tries + 5000);
  o.max_tries = static_cast<int>(c.max_tries);
  o.metrics = metrics;
  auto embedder = rag::RemoteEmbedder::Create(std::move(o));
  if (!embedder.ok()) return Status(embedder.status().code(), "embeddings: " + embedder.status().message());
  return std::shared_ptr<const rag::Embedder>(std::move(embedder).value());
}

}  // namespace lathe::app
