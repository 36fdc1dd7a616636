// LlmClient: the interface to a chat-completion model. Implementations: the
// OpenAI-compatible client (openai_llm.h) and test stand-ins. Implementations
// are thread-safe; calls are coroutines run on an I/O executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe::rag {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct LlmRequest {
  std::vector<ChatMessage> messages;
  double temperature = 0.0;
  int max_tokens = 512;
  // Overall deadline for the call, retries included.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
};

// Called with each piece of generated text as it arrives (streaming). The
// returned awaitable completes when the piece has been handed on; return
// false to stop generation (the client went away).
using DeltaSink = std::function<boost::asio::awaitable<bool>(std::string_view)>;

class LlmClient {
 public:
  virtual ~LlmClient() = default;
  // A short name for metrics and logs ("openai:gpt-4o-mini").
  virtual std::string name() const = 0;
  // Generates the reply to request.messages. With on_delta set, streams and
  // calls it per piece; the whole text is also returned. Errors:
  // DeadlineExceeded (deadline passed), Unavailable (upstream failed after
  // retries, or the circuit is open), ResourceExhausted (upstream kept
  // answering 429), InvalidArgument (upstream refused the request: 4xx).
  virtual boost::asio::awaitable<Result<std::string>> Complete(const LlmRequest& request, DeltaSink on_delta) = 0;
};

}  // namespace lathe::rag
