// OpenAiLlm: the LlmClient for any OpenAI-compatible chat-completion server
// (OpenAI, vLLM, llama.cpp server, Ollama, ...): POST {base_url}/chat/completions,
// whole replies or server-sent-event streams. Every call gets a concurrency
// cap, a circuit breaker, retries with jittered backoff and a per-try timeout
// within the request's deadline (net/resilient_caller.h). Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "net/circuit_breaker.h"
#include "net/http_client.h"
#include "net/metrics.h"
#include "net/resilient_caller.h"
#include "rag/answer/llm.h"

namespace lathe::rag {

struct OpenAiLlmOptions {
  std::string base_url = "http://127.0.0.1:9000/v1";  // without the trailing /chat/completions
  std::string model = "gpt-4o-mini";
  std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
  // One try's limit; each try gets min(per_try_timeout, time left before the
  // request's deadline). For a stream: the limit up to the response headers
  // and between two pieces.
  std::chrono::milliseconds per_try_timeout{30000};
  int max_tries = 3;
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{5000};
  int breaker_failure_threshold = 5;  // consecutive failed tries that open the circuit
  std::chrono::milliseconds breaker_cool_down{10000};
  size_t max_concurrent = 64;  // upstream calls in flight; more wait (within their deadline)
  // Metrics go here when set (lathe_llm_*{backend=name()}); not owned, must
  // outlive the client.
  net::MetricsRegistry* metrics = nullptr;
};

class OpenAiLlm : public LlmClient {
 public:
  // ex runs the HTTP I/O (an I/O thread's executor). InvalidArgument for a
  // malformed base_url, an empty model or non-positive limits.
  static Result<std::unique_ptr<OpenAiLlm>> Create(boost::asio::any_io_executor ex, OpenAiLlmOptions options);

  // "openai:<model>".
  std::string name() const override;

  // See LlmClient::Complete. Streams when on_delta is set. A try is retried
  // (connect errors, resets, 429, 5xx) only while nothing has been passed to
  // on_delta; a stream that breaks after output is Unavailable. A reply that
  // is not the expected JSON is Unavailable naming the missing field. When
  // on_delta returns false the call stops and returns the text so far.
  boost::asio::awaitable<Result<std::string>> Complete(const LlmRequest& request, DeltaSink on_delta) override;

  // For tests and /health: the circuit breaker's state.
  net::CircuitBreaker::State circuit_state() { return caller_->breaker().state(); }

 private:
  OpenAiLlm(boost::asio::any_io_executor ex, OpenAiLlmOptions options);
  std::string RequestBody(const LlmRequest& request, bool stream) const;
  net::ClientRequest HttpRequest(std::string body, std::chrono::milliseconds timeout,
                                 std::chrono::steady_clock::time_point deadline) const;
  boost::asio::awaitable<net::TryOutcome> SendOnce(net::ClientRequest request, std::string* text);
  boost::asio::awaitable<net::TryOutcome> StreamOnce(net::ClientRequest request, const DeltaSink& on_delta,
                                                     std::string* text, bool* delivered);

  // Constant after construction.
  const OpenAiLlmOptions options_;
  const std::string endpoint_;  // {base_url}/chat/completions
  const std::string what_;      // names the call in error messages
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::ResilientCaller> caller_;
};

}  // namespace lathe::rag
