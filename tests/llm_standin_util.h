// StandIn: runs tests/llm_standin.cc (lathe_llm_standin) as a child process on
// a free loopback port, and drives its /control and /stats endpoints with
// blocking HTTP calls. For tests of upstream clients. Not thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/detached.hpp>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace lathe::test {

// Runs a coroutine on io until it finishes and returns its result.
template <typename T>
T RunAwaitable(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;  // T need not be default-constructible (Result<T> is not)
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { result.emplace(co_await std::move(task)); },
      boost::asio::detached);
  io.restart();
  io.run();
  return std::move(*result);
}

class StandIn {
 public:
  // Starts the stand-in (LATHE_STANDIN is its path) with extra flags; port()
  // is 0 when it did not come up.
  explicit StandIn(std::vector<std::string> flags = {}) {
#ifdef LATHE_STANDIN
    std::vector<std::string> argv = {LATHE_STANDIN, "--port", "0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    child_ = std::make_unique<Child>(argv, Child::Capture::kStdout);
    std::string line;
    if (child_->ReadLine(&line) && line.rfind("listening on ", 0) == 0) port_ = std::stoi(line.substr(13));
#endif
  }

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  // POST /control with the given behaviour; returns the stand-in's answer.
  nlohmann::json Control(const nlohmann::json& behaviour) { return Call("POST", "/control", behaviour.dump()); }
  // GET /stats: chat_requests, embedding_requests, max_concurrent, in_flight.
  nlohmann::json Stats() { return Call("GET", "/stats", ""); }
  // Back to defaults, counters zeroed.
  void Reset() { Control({{"mode", "ok"}, {"reset_stats", true}}); }

  // A blocking HTTP call to the stand-in; the body parsed as JSON (null on failure).
  nlohmann::json Call(const std::string& method, const std::string& target, const std::string& body) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket socket(io);
      socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      http::write(socket, req);
      beast::flat_buffer buffer;
      http::response<http::string_body> res;
      http::read(socket, buffer, res);
      return nlohmann::json::parse(res.body(), nullptr, false);
    } catch (const std::exception&) {
      return nullptr;
    }
  }

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

}  // namespace lathe::test
