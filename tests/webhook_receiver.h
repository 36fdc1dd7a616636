// WebhookReceiver: a loopback HTTP server (net::HttpServer) for tests that
// records every POSTed body and answers with a settable status. Thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/http_server.h"
#include "net/metrics.h"

namespace lathe::test {

class WebhookReceiver {
 public:
  WebhookReceiver() {
    net::ServerOptions o;
    o.port = 0;
    o.drain_timeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<net::HttpServer>(o, &metrics_);
    server_->Route("POST", "/hook", [this](net::Exchange& ex) -> boost::asio::awaitable<net::Response> {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(ex.request().body());
      }
      co_return net::JsonResponse(status_.load(), R"({"ok":true})");
    });
    started_ = server_->Start().ok();
  }
  ~WebhookReceiver() {
    server_->Stop();
    server_->Wait();
  }
  bool ok() const { return started_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  void set_status(int s) { status_.store(s); }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& b : bodies_) out.push_back(nlohmann::json::parse(b, nullptr, false));
    return out;
  }

 private:
  net::MetricsRegistry metrics_;
  std::unique_ptr<net::HttpServer> server_;
  bool started_ = false;
  std::atomic<int> status_{200};
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

}  // namespace lathe::test
