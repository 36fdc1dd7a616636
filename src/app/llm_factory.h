// Builds the LLM client the configuration asks for: none for the extractive
// backend, the OpenAI-compatible client for "openai".
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "app/config.h"
#include "net/metrics.h"
#include "rag/answer/llm.h"

namespace lathe::app {

// nullptr (OK) when no LLM is configured. InvalidArgument for a bad base URL.
Result<std::unique_ptr<rag::LlmClient>> MakeLlmClient(const ServeConfig& config, boost::asio::any_io_executor io,
                                                      net::MetricsRegistry* metrics);

}  // namespace lathe::app
