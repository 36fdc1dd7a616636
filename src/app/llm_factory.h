// Builds the upstream clients the configuration asks for: the LLM (none for
// the extractive backend, the OpenAI-compatible client for "openai") and the
// embedder (none for "local": each collection's built-in one; the
// OpenAI-compatible /v1/embeddings client for "openai").
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "app/config.h"
#include "net/metrics.h"
#include "rag/answer/llm.h"
#include "rag/embed/embedder.h"

namespace lathe::app {

// nullptr (OK) when no LLM is configured. InvalidArgument for a bad base URL
// or limits. io runs the client's HTTP calls (the server's I/O threads).
Result<std::unique_ptr<rag::LlmClient>> MakeLlmClient(const ServeConfig& config, boost::asio::any_io_executor io,
                                                      net::MetricsRegistry* metrics);

// nullptr (OK) for embeddings.backend "local". For "openai" the remote
// embedder; with embeddings.dim 0 it asks the server once for the dimension,
// so the server must be reachable (its error otherwise, naming the URL).
Result<std::shared_ptr<const rag::Embedder>> MakeRemoteEmbedder(const ServeConfig& config,
                                                                net::MetricsRegistry* metrics);

}  // namespace lathe::app
