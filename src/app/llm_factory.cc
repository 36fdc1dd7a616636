#include "app/llm_factory.h"

namespace lathe::app {

Result<std::unique_ptr<rag::LlmClient>> MakeLlmClient(const ServeConfig& config, boost::asio::any_io_executor io,
                                                      net::MetricsRegistry* metrics) {
  if (config.answer.backend != "openai") return std::unique_ptr<rag::LlmClient>();
  return Unsupported("the openai answer backend is not built yet");
}

}  // namespace lathe::app
