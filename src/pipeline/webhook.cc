#include "pipeline/webhook.h"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "net/http_client.h"
#include "pipeline/dag_spec.h"

namespace lathe::pipeline {
namespace {

using nlohmann::json;

class WebhookOperator : public Operator {
 public:
  explicit WebhookOperator(json params) : params_(std::move(params)) {}
  Result<json> Run(TaskContext& ctx) override {
    json body = params_.contains("body")
                    ? params_["body"]
                    : json{{"dag_id", ctx.dag_id}, {"run_id", ctx.run_id}, {"task_id", ctx.task_id}, {"ds", ctx.ds}};
    std::chrono::milliseconds timeout(10000);
    if (params_.contains("timeout")) timeout = *ParseDuration(params_["timeout"].get<std::string>());
    std::vector<std::pair<std::string, std::string>> headers;
    if (params_.contains("headers"))
      for (auto& [k, v] : params_["headers"].items()) headers.emplace_back(k, v.get<std::string>());
    const std::string url = params_["url"].get<std::string>();
    ctx.Log("POST " + url);
    std::string response;
    LATHE_RETURN_IF_ERROR(PostJson(url, body, timeout, headers, &response));
    ctx.Log("answered: " + response.substr(0, 2000));
    json parsed = json::parse(response, nullptr, false);
    return json{{"url", url}, {"response", parsed.is_discarded() ? json(response) : parsed}};
  }

 private:
  json params_;
};

}  // namespace

Status PostJson(const std::string& url, const json& body, std::chrono::milliseconds timeout,
                const std::vector<std::pair<std::string, std::string>>& headers, std::string* response) {
  boost::asio::io_context io;
  Result<net::ClientResponse> result = Internal("webhook: no answer");
  {
    net::HttpClient client(io.get_executor());
    net::ClientRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump();
    req.timeout = timeout;
    boost::asio::co_spawn(
        io, [&]() -> boost::asio::awaitable<void> { result = co_await client.Send(std::move(req)); },
        boost::asio::detached);
    io.run();
    client.CloseIdle();
  }
  if (!result.ok()) return Unavailable("POST " + url + ": " + result.status().message());
  if (response) *response = result->body;
  if (result->status < 200 || result->status >= 300)
    return Unavailable("POST " + url + ": HTTP " + std::to_string(result->status) + " " + result->body.substr(0, 200));
  return Status::OK();
}

Result<std::unique_ptr<Operator>> MakeWebhookOperator(const json& params) {
  for (auto& [k, v] : params.items())
    if (k != "url" && k != "body" && k != "headers" && k != "timeout")
      return InvalidArgument("unknown param '" + k + "' (known: url, body, headers, timeout)");
  if (!params.contains("url") || !params["url"].is_string())
    return InvalidArgument("param 'url' (an http:// or https:// URL) is required");
  if (auto u = net::Url::Parse(params["url"].get<std::string>()); !u.ok())
    return InvalidArgument("param 'url': " + u.status().message());
  if (params.contains("timeout")) {
    if (!params["timeout"].is_string()) return InvalidArgument("param 'timeout' must be a duration such as 10s");
    if (auto d = ParseDuration(params["timeout"].get<std::string>()); !d.ok())
      return InvalidArgument("param 'timeout': " + d.status().message());
  }
  if (params.contains("headers")) {
    if (!params["headers"].is_object()) return InvalidArgument("param 'headers' must be a mapping");
    for (auto& [k, v] : params["headers"].items())
      if (!v.is_string()) return InvalidArgument("param 'headers': '" + k + "' must be a string");
  }
  return std::unique_ptr<Operator>(std::make_unique<WebhookOperator>(params));
}

}  // namespace lathe::pipeline
