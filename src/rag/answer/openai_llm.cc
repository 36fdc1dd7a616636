#include "rag/answer/openai_llm.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace lathe::rag {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

std::string Snippet(std::string_view text) {
  std::string out(text.substr(0, 80));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

// The text of choices[0].message.content, or the name of what is missing.
Result<std::string> ParseCompletion(const std::string& body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("response is not valid JSON (starts '" + Snippet(body) + "')");
  if (!doc.is_object() || !doc.contains("choices")) return InvalidArgument("response has no 'choices'");
  const json& choices = doc["choices"];
  if (!choices.is_array() || choices.empty()) return InvalidArgument("response has no choices[0]");
  const json& choice = choices[0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) {
    return InvalidArgument("response has no choices[0].message");
  }
  const json& message = choice["message"];
  if (!message.contains("content") || !message["content"].is_string()) {
    return InvalidArgument("response has no string choices[0].message.content");
  }
  return message["content"].get<std::string>();
}

}  // namespace

Result<std::unique_ptr<OpenAiLlm>> OpenAiLlm::Create(asio::any_io_executor ex, OpenAiLlmOptions options) {
  Result<net::Url> url = net::Url::Parse(net::JoinUrl(options.base_url, "chat/completions"));
  if (!url.ok()) return InvalidArgument("LLM base_url: " + url.status().message());
  if (options.model.empty()) return InvalidArgument("LLM model name is empty");
  if (options.max_tries < 1) return InvalidArgument("LLM max_tries must be at least 1");
  if (options.per_try_timeout.count() <= 0) return InvalidArgument("LLM per_try_timeout must be positive");
  if (options.breaker_failure_threshold < 1) return InvalidArgument("LLM breaker threshold must be at least 1");
  if (options.max_concurrent < 1) return InvalidArgument("LLM max_concurrent must be at least 1");
  return std::unique_ptr<OpenAiLlm>(new OpenAiLlm(std::move(ex), std::move(options)));
}

OpenAiLlm::OpenAiLlm(asio::any_io_executor ex, OpenAiLlmOptions options)
    : options_(std::move(options)),
      endpoint_(net::JoinUrl(options_.base_url, "chat/completions")),
      what_("chat completion at " + endpoint_),
      http_(std::make_unique<net::HttpClient>(std::move(ex))) {
  caller_ = std::make_unique<net::ResilientCaller>(
      name(), net::ResilienceFrom(options_),
      net::CallMetrics::Register(options_.metrics, "lathe_llm", "chat completion calls"));
}

std::string OpenAiLlm::name() const { return "openai:" + options_.model; }

std::string OpenAiLlm::RequestBody(const LlmRequest& request, bool stream) const {
  json messages = json::array();
  for (const ChatMessage& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  json body = {{"model", options_.model},
               {"messages", std::move(messages)},
               {"temperature", request.temperature},
               {"max_tokens", request.max_tokens},
               {"stream", stream}};
  // Invalid UTF-8 in a document must not abort the call: replace it.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

net::ClientRequest OpenAiLlm::HttpRequest(std::string body, milliseconds timeout,
                                          std::chrono::steady_clock::time_point deadline) const {
  net::ClientRequest request;
  request.method = "POST";
  request.url = endpoint_;
  request.headers.emplace_back("Content-Type", "application/json");
  if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  request.body = std::move(body);
  request.timeout = timeout;
  request.deadline = deadline;
  return request;
}

asio::awaitable<Result<std::string>> OpenAiLlm::Complete(const LlmRequest& request, DeltaSink on_delta) {
  const bool stream = static_cast<bool>(on_delta);
  const std::string body = RequestBody(request, stream);
  const auto deadline = request.deadline;
  std::string text;
  bool delivered = false;
  Status status = co_await caller_->Run(deadline, [&](milliseconds timeout) -> asio::awaitable<net::TryOutcome> {
    net::ClientRequest http_request = HttpRequest(body, timeout, deadline);
    if (stream) {
      // Between pieces the per-try timeout applies; the deadline bounds the whole stream.
      return StreamOnce(std::move(http_request), on_delta, &text, &delivered);
    }
    http_request.deadline = std::min(deadline, std::chrono::steady_clock::now() + timeout);
    return SendOnce(std::move(http_request), &text);
  });
  if (!status.ok()) co_return status;
  co_return text;
}

asio::awaitable<net::TryOutcome> OpenAiLlm::SendOnce(net::ClientRequest request, std::string* text) {
  Result<net::ClientResponse> response = co_await http_->Send(std::move(request));
  if (!response.ok()) co_return net::TryOutcome::FromTransport(response.status(), what_);
  if (response->status / 100 != 2) co_return net::TryOutcome::FromHttpStatus(*response, what_);
  Result<std::string> content = ParseCompletion(response->body);
  if (!content.ok()) co_return net::TryOutcome::BadResponse(what_ + ": " + content.status().message());
  *text = std::move(content).value();
  co_return net::TryOutcome::Ok();
}

asio::awaitable<net::TryOutcome> OpenAiLlm::StreamOnce(net::ClientRequest request, const DeltaSink& on_delta,
                                                       std::string* text, bool* delivered) {
  text->clear();
  std::string pending;          // bytes after the last complete line
  bool done = false;            // saw data: [DONE]
  bool finished = false;        // saw a finish_reason
  bool stopped = false;         // on_delta asked to stop
  std::string protocol_error;   // what was wrong with an event
  auto on_data = [&](std::string_view bytes) -> asio::awaitable<bool> {
    pending.append(bytes);
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      // Blank lines end events; ':' comments, event:, id: and retry: carry nothing we use.
      if (line.rfind("data:", 0) != 0) continue;
      std::string_view payload = std::string_view(line).substr(5);
      while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
      if (payload == "[DONE]") {
        done = true;
        co_return false;
      }
      json event = json::parse(payload, nullptr, /*allow_exceptions=*/false);
      if (event.is_discarded() || !event.is_object()) {
        protocol_error = "stream event is not valid JSON (starts '" + Snippet(payload) + "')";
        co_return false;
      }
      if (event.contains("error")) {
        const json& error = event["error"];
        std::string message = error.is_object() && error.contains("message") && error["message"].is_string()
                                  ? error["message"].get<std::string>()
                                  : error.dump();
        protocol_error = "upstream reported an error mid-stream: " + message;
        co_return false;
      }
      if (!event.contains("choices") || !event["choices"].is_array()) {
        protocol_error = "stream event has no 'choices'";
        co_return false;
      }
      const json& choices = event["choices"];
      if (choices.empty()) continue;  // e.g. a final usage-only event
      const json& choice = choices[0];
      if (choice.contains("finish_reason") && !choice["finish_reason"].is_null()) finished = true;
      if (!choice.contains("delta") || !choice["delta"].is_object()) {
        if (finished) continue;
        protocol_error = "stream event has no choices[0].delta";
        co_return false;
      }
      const json& delta = choice["delta"];
      if (!delta.contains("content") || !delta["content"].is_string()) continue;  // role-only or tool deltas
      std::string piece = delta["content"].get<std::string>();
      if (piece.empty()) continue;
      text->append(piece);
      *delivered = true;
      if (!co_await on_delta(piece)) {
        stopped = true;
        co_return false;
      }
    }
    co_return true;
  };
  request.headers.emplace_back("Accept", "text/event-stream");
  Result<net::ClientResponse> response = co_await http_->Stream(std::move(request), on_data);
  net::TryOutcome outcome;
  if (!response.ok()) {
    outcome = net::TryOutcome::FromTransport(response.status(), what_);
  } else if (response->status / 100 != 2) {
    outcome = net::TryOutcome::FromHttpStatus(*response, what_);
  } else if (!protocol_error.empty()) {
    outcome = net::TryOutcome::BadResponse(what_ + ": " + protocol_error);
  } else if (stopped || done || finished) {
    co_return net::TryOutcome::Ok();
  } else {
    outcome = net::TryOutcome::BadResponse(what_ + ": stream ended without 'data: [DONE]'");
    outcome.reason = "reset";
    outcome.retryable = true;
  }
  if (*delivered) {
    outcome.committed = true;
    outcome.status = Status(outcome.status.code() == StatusCode::kDeadlineExceeded ? StatusCode::kDeadlineExceeded
                                                                                   : StatusCode::kUnavailable,
                            fmt::format("{} (after {} bytes of streamed output; not retried)",
                                        outcome.status.message(), text->size()));
  }
  co_return outcome;
}

}  // namespace lathe::rag
