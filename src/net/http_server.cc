#include "net/http_server.h"

#include <utility>  // g++ 12 with Beast: <utility> first
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <condition_variable>

#include "common/logging.h"
#include "net/http_errors.h"

namespace lathe::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One client connection: its stream (on its own strand) and whether a request
// is being handled (idle connections are closed first on Stop).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(tcp::socket socket) : stream_(std::move(socket)) {}
  beast::tcp_stream& stream() { return stream_; }
  std::atomic<bool> busy{false};
  // Closes the socket from any thread (posted to the connection's strand).
  void CloseSoon() {
    asio::post(stream_.get_executor(), [this, self = shared_from_this()] {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    });
  }

 private:
  beast::tcp_stream stream_;
};

const std::string& Exchange::param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params_.find(name);
  return it == params_.end() ? kEmpty : it->second;
}

std::string Exchange::header(std::string_view name) const {
  auto it = request_.find(name);
  return it == request_.end() ? "" : std::string(it->value());
}

asio::awaitable<bool> Exchange::StartEvents(int status) {
  http::response<http::empty_body> res{static_cast<http::status>(status), request_.version()};
  res.set(http::field::content_type, "text/event-stream; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  if (!cors_origin_.empty()) {
    res.set(http::field::access_control_allow_origin, cors_origin_);
    res.set(http::field::vary, "Origin");
  }
  res.keep_alive(request_.keep_alive());
  res.chunked(true);
  streaming_ = true;
  stream_status_ = status;
  auto& stream = connection_->stream();
  stream.expires_after(std::chrono::seconds(30));
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, n] = co_await http::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
  // The limit is for one write; a pause between events (a slow model) must
  // not count against the next one.
  stream.expires_never();
  if (ec) stream_broken_ = true;
  co_return !ec;
}

asio::awaitable<bool> Exchange::SendEvent(std::string_view text) {
  if (stream_broken_) co_return false;
  auto& stream = connection_->stream();
  stream.expires_after(std::chrono::seconds(30));
  auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::const_buffer(text.data(), text.size())),
                                            asio::as_tuple(asio::use_awaitable));
  stream.expires_never();
  if (ec) stream_broken_ = true;
  co_return !ec;
}

Response JsonResponse(int status, std::string body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response ErrorResponse(int status, const std::string& message, const std::string& code) {
  return JsonResponse(status, ErrorBody(status, message, code));
}

Response ErrorResponse(const Status& status, const std::string& code) {
  return JsonResponse(HttpStatusFor(status.code()), ErrorBody(status, code));
}

HttpServer::HttpServer(ServerOptions options, MetricsRegistry* metrics)
    : options_(std::move(options)), metrics_(metrics), acceptor_(ioc_) {
  requests_total_ = metrics_->AddCounter("lathe_http_requests_total", "HTTP requests by route, method and status",
                                         {"route", "method", "status"});
  request_seconds_ =
      metrics_->AddHistogram("lathe_http_request_duration_seconds", "HTTP request latency by route, method and status",
                             {"route", "method", "status"}, MetricsRegistry::LatencyBuckets());
  in_flight_gauge_ = &metrics_->AddGauge("lathe_http_requests_in_flight", "Requests being handled")->With({});
  connections_gauge_ = &metrics_->AddGauge("lathe_http_connections", "Open client connections")->With({});
  rejected_total_ = metrics_->AddCounter("lathe_http_rejected_total",
                                         "Requests refused before routing, by reason", {"reason"});
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  router_.Add(std::move(method), std::move(pattern), std::move(handler));
}

Status HttpServer::Start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("server host '" + options_.host + "' is not an IP address: " + ec.message());
  tcp::endpoint endpoint{address, options_.port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IOError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
  }
  bound_port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ioc_, AcceptLoop(), asio::detached);
  for (size_t i = 0; i < std::max<size_t>(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  return Status::OK();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_ || threads_.empty()) {
      stopped_ = true;
      stopped_cv_.notify_all();
      return;
    }
  }
  draining_ = true;
  asio::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  auto close_idle = [this] {
    std::lock_guard lock(mu_);
    for (auto& c : live_) {
      if (!c->busy) c->CloseSoon();
    }
  };
  close_idle();
  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    close_idle();
  }
  if (in_flight_ > 0) LOG_WARN("stopping with {} requests still in flight after the drain timeout", in_flight_.load());
  {
    std::lock_guard lock(mu_);
    for (auto& c : live_) c->CloseSoon();
  }
  // Let connection coroutines see their closed sockets and finish.
  auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (connections_ > 0 && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::lock_guard lock(stop_mu_);
  stopped_ = true;
  stopped_cv_.notify_all();
}

void HttpServer::Wait() {
  std::unique_lock lock(stop_mu_);
  stopped_cv_.wait(lock, [this] { return stopped_; });
}

asio::awaitable<void> HttpServer::AcceptLoop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || draining_) co_return;
      LOG_WARN("accept failed: {}", ec.message());
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer timer(ioc_, std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    if (connections_ >= options_.max_connections) {
      rejected_total_->With({"max_connections"}).Add();
      asio::co_spawn(connection->stream().get_executor(),
                     [connection]() -> asio::awaitable<void> {
                       Response res = ErrorResponse(503, "the server is at its connection limit; retry later",
                                                    "too_many_connections");
                       res.set(http::field::retry_after, "1");
                       res.keep_alive(false);
                       res.prepare_payload();
                       connection->stream().expires_after(std::chrono::seconds(5));
                       co_await http::async_write(connection->stream(), res, asio::as_tuple(asio::use_awaitable));
                       beast::error_code ignored;
                       connection->stream().socket().shutdown(tcp::socket::shutdown_send, ignored);
                     },
                     asio::detached);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      live_.insert(connection);
    }
    ++connections_;
    connections_gauge_->Add(1);
    asio::co_spawn(connection->stream().get_executor(), Serve(connection), [this, connection](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          LOG_ERROR("connection handler failed: {}", ex.what());
        }
      }
      {
        std::lock_guard lock(mu_);
        live_.erase(connection);
      }
      --connections_;
      connections_gauge_->Add(-1);
    });
  }
}

bool HttpServer::OriginAllowed(std::string_view origin) const {
  for (const auto& o : options_.cors_origins) {
    if (o == "*" || o == origin) return true;
  }
  return false;
}

void HttpServer::AddCorsHeaders(const Request& req, Response* res) const {
  auto it = req.find(http::field::origin);
  if (it == req.end() || !OriginAllowed(it->value())) return;
  res->set(http::field::access_control_allow_origin, it->value());
  res->set(http::field::vary, "Origin");
}

asio::awaitable<void> HttpServer::Serve(std::shared_ptr<Connection> connection) {
  auto& stream = connection->stream();
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    if (draining_) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    // Waiting for the next request of a kept-alive connection is idle time;
    // once its first bytes are here, the read timeout applies.
    stream.expires_after(first || buffer.size() > 0 ? options_.read_timeout : options_.idle_timeout);
    first = false;
    if (buffer.size() == 0) {
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
      if (ec) break;  // idle timeout, close or reset: nothing to answer
      buffer.commit(n);
      stream.expires_after(options_.read_timeout);
    }
    auto reply_error = [&](int status, const std::string& message, const std::string& code,
                           const std::string& reason) -> asio::awaitable<void> {
      rejected_total_->With({reason}).Add();
      Response res = ErrorResponse(status, message, code);
      res.keep_alive(false);
      res.prepare_payload();
      stream.expires_after(options_.write_timeout);
      co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    };
    // The rest of the request must arrive within the read timeout. A timer
    // cancels the read rather than the stream's own expiry, which would close
    // the socket before the 408 could be written.
    stream.expires_never();
    bool read_timed_out = false;
    asio::steady_timer read_timer(stream.get_executor(), options_.read_timeout);
    read_timer.async_wait([&stream, &read_timed_out](beast::error_code timer_ec) {
      if (timer_ec) return;  // cancelled: the request arrived in time (or the frame is gone)
      read_timed_out = true;
      beast::error_code ignored;
      stream.socket().cancel(ignored);
    });
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      auto& header = parser.get();
      if (header[http::field::expect] == "100-continue" && !parser.is_done()) {
        http::response<http::empty_body> cont{http::status::continue_, header.version()};
        co_await http::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
      }
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    }
    read_timer.cancel();
    if (read_timed_out && ec == asio::error::operation_aborted) ec = beast::error::timeout;
    if (ec == http::error::body_limit) {
      co_await reply_error(413,
                           "request body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes",
                           "body_too_large", "body_limit");
      break;
    }
    if (ec == http::error::header_limit) {
      co_await reply_error(431,
                           "request headers exceed the limit of " + std::to_string(options_.max_header_bytes) +
                               " bytes",
                           "headers_too_large", "header_limit");
      break;
    }
    if (ec == beast::error::timeout) {
      co_await reply_error(408,
                           "request not received within " + std::to_string(options_.read_timeout.count()) + " ms",
                           "request_timeout", "read_timeout");
      break;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      co_await reply_error(400, "malformed HTTP request: " + ec.message(), "bad_request", "malformed");
      break;
    }

    Request req = parser.release();
    connection->busy = true;
    ++in_flight_;
    in_flight_gauge_->Add(1);
    auto start = std::chrono::steady_clock::now();
    Exchange exchange(req, connection.get());
    Response res;
    std::string route = "unmatched";
    std::string method(req.method_string());
    if (req.method() == http::verb::options && req.find(http::field::access_control_request_method) != req.end()) {
      // CORS preflight.
      route = "preflight";
      auto origin = req[http::field::origin];
      if (OriginAllowed(origin)) {
        res = Response{http::status::no_content, req.version()};
        res.set(http::field::access_control_allow_origin, origin);
        res.set(http::field::access_control_allow_methods, "GET, POST, DELETE, OPTIONS");
        res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, X-API-Key");
        res.set(http::field::access_control_max_age, "600");
        res.set(http::field::vary, "Origin");
      } else {
        res = ErrorResponse(403, "origin '" + std::string(origin) + "' is not allowed (server cors_origins)",
                            "origin_not_allowed");
      }
    } else {
      auto match = router_.Find(req.method_string(), req.target());
      if (match.outcome == Router<Handler>::Outcome::kNotFound) {
        res = ErrorResponse(404, "no route for " + method + " " + std::string(req.target()), "route_not_found");
      } else if (match.outcome == Router<Handler>::Outcome::kMethodNotAllowed) {
        res = ErrorResponse(405, "method " + method + " not allowed here; allowed: " + match.allowed,
                            "method_not_allowed");
        res.set(http::field::allow, match.allowed);
      } else {
        route = match.pattern;
        exchange.params_ = std::move(match.params);
        exchange.route_ = route;
        if (auto origin = req.find(http::field::origin); origin != req.end() && OriginAllowed(origin->value())) {
          exchange.cors_origin_ = std::string(origin->value());
        }
        try {
          res = co_await (*match.handler)(exchange);
        } catch (const std::exception& e) {
          LOG_ERROR("handler for {} {} failed: {}", method, route, e.what());
          res = ErrorResponse(500, std::string("internal error: ") + e.what(), "internal");
        }
      }
    }
    bool keep_alive = req.keep_alive() && !draining_;
    int status = exchange.streaming() ? exchange.stream_status_ : res.result_int();
    if (exchange.streaming()) {
      if (!exchange.stream_broken_) {
        stream.expires_after(options_.write_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, http::make_chunk_last(), asio::as_tuple(asio::use_awaitable));
        if (wec) keep_alive = false;
      } else {
        keep_alive = false;
      }
    } else {
      res.version(req.version());
      AddCorsHeaders(req, &res);
      res.keep_alive(keep_alive);
      res.prepare_payload();
      stream.expires_after(options_.write_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec) keep_alive = false;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    LabelValues labels{route, method, std::to_string(status)};
    requests_total_->With(labels).Add();
    request_seconds_->With(labels).Observe(seconds);
    --in_flight_;
    in_flight_gauge_->Add(-1);
    connection->busy = false;
    if (!keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace lathe::net
