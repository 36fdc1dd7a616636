// HttpServer: the asynchronous HTTP/1.1 server (Boost.Beast, C++20
// coroutines). A few I/O threads run every connection as a coroutine on its
// own strand; handlers must post CPU work to the CPU pool (RunOnPool) and
// never block. Enforces the limits (body 413, header 431, slow client 408,
// connection cap 503), answers CORS preflights, keeps per-route metrics and
// drains in-flight requests on Stop(). Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "net/metrics.h"
#include "net/router.h"

namespace lathe::net {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  size_t io_threads = 1;
  size_t max_body_bytes = 32u << 20;
  size_t max_header_bytes = 16u << 10;
  // A request's header and body must arrive within this (else 408).
  std::chrono::milliseconds read_timeout{30000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds idle_timeout{75000};
  std::chrono::milliseconds write_timeout{30000};
  size_t max_connections = 10000;
  // Origins allowed to call from a browser; "*" allows any.
  std::vector<std::string> cors_origins;
  // Stop() waits this long for in-flight requests before closing them.
  std::chrono::milliseconds drain_timeout{30000};
};

class Connection;

// One request being handled: the request, its route, and the way back to the
// client (a whole response, or a server-sent event stream).
class Exchange {
 public:
  const Request& request() const { return request_; }
  const std::string& param(const std::string& name) const;
  const std::string& route() const { return route_; }
  // Value of a request header, empty when absent.
  std::string header(std::string_view name) const;

  // Starts a text/event-stream response (chunked). After this the handler's
  // returned Response is ignored.
  boost::asio::awaitable<bool> StartEvents(int status = 200);
  // Sends raw SSE text (the caller formats "data: ...\n\n"). False when the
  // client has gone away; the handler should then stop.
  boost::asio::awaitable<bool> SendEvent(std::string_view text);
  bool streaming() const { return streaming_; }

 private:
  friend class Connection;
  friend class HttpServer;
  Exchange(Request& request, Connection* connection) : request_(request), connection_(connection) {}
  Request& request_;
  Connection* connection_;
  PathParams params_;
  std::string route_;
  bool streaming_ = false;
  bool stream_broken_ = false;
  int stream_status_ = 200;
  std::string cors_origin_;  // allowed Origin of the request, echoed on event streams
};

using Handler = std::function<boost::asio::awaitable<Response>(Exchange&)>;

// Builders for handlers.
Response JsonResponse(int status, std::string body);
Response ErrorResponse(int status, const std::string& message, const std::string& code);
Response ErrorResponse(const Status& status, const std::string& code = "");

class HttpServer {
 public:
  HttpServer(ServerOptions options, MetricsRegistry* metrics);
  ~HttpServer();

  // Routes must be added before Start.
  void Route(std::string method, std::string pattern, Handler handler);

  // Binds and starts the I/O threads. IOError naming the address when the port
  // cannot be bound.
  Status Start();
  uint16_t port() const { return bound_port_; }
  boost::asio::io_context& io_context() { return ioc_; }

  // Stops accepting, waits for in-flight requests (up to drain_timeout),
  // closes idle connections, and joins the I/O threads. Idempotent.
  void Stop();
  // Blocks until Stop has finished.
  void Wait();

  size_t in_flight() const { return in_flight_.load(); }
  size_t connections() const { return connections_.load(); }

 private:
  friend class Connection;
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Serve(std::shared_ptr<Connection> connection);
  void AddCorsHeaders(const Request& req, Response* res) const;
  bool OriginAllowed(std::string_view origin) const;

  const ServerOptions options_;
  MetricsRegistry* const metrics_;
  Router<Handler> router_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t bound_port_ = 0;

  std::atomic<bool> draining_{false};
  std::atomic<size_t> in_flight_{0};
  std::atomic<size_t> connections_{0};
  std::mutex mu_;
  std::set<std::shared_ptr<Connection>> live_;  // guarded by mu_
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::condition_variable stopped_cv_;

  Family<Counter>* requests_total_;
  Family<Histogram>* request_seconds_;
  Gauge* in_flight_gauge_;
  Gauge* connections_gauge_;
  Family<Counter>* rejected_total_;
};

// Runs fn() on the CPU pool and resumes the calling coroutine on its own
// executor with the result. fn must not touch the caller's I/O objects.
// With g++ 12, let fn capture by reference or raw pointer only: a lambda
// temporary that captured a shared_ptr by value, written inside the co_await
// expression, lost one reference per call (the route state of
// app/ml_routes.cc was freed after ~18 requests; GCC's coroutine handling of
// temporaries in co_await operands).
template <typename Fn>
auto RunOnPool(boost::asio::thread_pool& pool, Fn fn) -> boost::asio::awaitable<decltype(fn())> {
  using R = decltype(fn());
  if constexpr (std::is_void_v<R>) {
    co_await boost::asio::co_spawn(
        pool.get_executor(), [fn = std::move(fn)]() mutable -> boost::asio::awaitable<void> { fn(); co_return; },
        boost::asio::use_awaitable);
  } else {
    // co_spawn needs a default-constructible result; Result<T> is not.
    std::optional<R> out = co_await boost::asio::co_spawn(
        pool.get_executor(),
        [fn = std::move(fn)]() mutable -> boost::asio::awaitable<std::optional<R>> { co_return fn(); },
        boost::asio::use_awaitable);
    co_return std::move(*out);
  }
}

}  // namespace lathe::net
