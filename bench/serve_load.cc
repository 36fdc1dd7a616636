// serve_load: a closed-loop HTTP load generator for `lathe serve` (and any
// HTTP/1.1 JSON server). C connections, each a coroutine on one I/O thread,
// send requests one after another over keep-alive until N requests have been
// sent in all; every latency is recorded. With C == N every connection sends
// exactly one request, all at once: the "N concurrent requests" case.
//
//   serve_load --port P --target /v1/search --key K --bodies bodies.jsonl
//       --connections 16 --requests 20000 [--warmup 500] [--json]
//
// bodies.jsonl holds one request body a line, used in turn. Prints requests,
// failures (transport errors and non-2xx, with the first few reasons), the
// wall time, throughput and latency percentiles in milliseconds.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target = "/v1/search";
  std::string method = "POST";
  std::string key;
  std::string bodies_path;
  int connections = 1;
  int64_t requests = 1000;
  int64_t warmup = 0;
  int timeout_s = 60;
  bool json = false;
};

struct Shared {
  const Options* options;
  std::vector<std::string> bodies;
  int64_t next = 0;  // requests handed out (one I/O thread: no lock)
  std::vector<double> latencies_ms;
  int64_t failures = 0;
  std::map<std::string, int64_t> reasons;
  void Fail(const std::string& why) {
    ++failures;
    ++reasons[why];
  }
};

asio::awaitable<void> Connection(Shared* s, tcp::endpoint endpoint, int64_t limit, bool record) {
  const Options& o = *s->options;
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  bool connected = false;
  beast::flat_buffer buffer;
  while (s->next < limit) {
    int64_t i = s->next++;
    auto start = Clock::now();
    stream.expires_after(std::chrono::seconds(o.timeout_s));
    if (!connected) {
      auto [ec] = co_await stream.async_connect(endpoint, kTuple);
      if (ec) {
        if (record) s->Fail("connect: " + ec.message());
        continue;
      }
      stream.socket().set_option(tcp::no_delay(true));
      connected = true;
    }
    http::request<http::string_body> req{http::string_to_verb(o.method), o.target, 11};
    req.set(http::field::host, o.host);
    if (!o.key.empty()) req.set(http::field::authorization, "Bearer " + o.key);
    if (!s->bodies.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = s->bodies[static_cast<size_t>(i) % s->bodies.size()];
    }
    req.keep_alive(true);
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
    http::response<http::string_body> res;
    beast::error_code rec;
    if (!wec) std::tie(rec, std::ignore) = co_await http::async_read(stream, buffer, res, kTuple);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (wec || rec) {
      if (record) s->Fail((wec ? "write: " + wec.message() : "read: " + rec.message()));
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      buffer.clear();
      continue;
    }
    if (record) {
      if (res.result_int() / 100 != 2) {
        s->Fail("HTTP " + std::to_string(res.result_int()));
      } else {
        s->latencies_ms.push_back(ms);
      }
    }
    if (!res.keep_alive()) {
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// Runs connections until `limit` requests were handed out; returns wall seconds.
double Phase(Shared* s, int64_t limit, bool record) {
  asio::io_context io(1);
  tcp::endpoint endpoint(asio::ip::make_address(s->options->host), static_cast<unsigned short>(s->options->port));
  auto start = Clock::now();
  for (int c = 0; c < s->options->connections; ++c) {
    asio::co_spawn(io, Connection(s, endpoint, limit, record), asio::detached);
  }
  io.run();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"serve_load: closed-loop HTTP load on keep-alive connections"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("--target", o.target);
  app.add_option("--method", o.method);
  app.add_option("--key", o.key, "API key (sent as Authorization: Bearer)");
  app.add_option("--bodies", o.bodies_path, "JSONL file: one request body a line, used in turn");
  app.add_option("--connections,-c", o.connections)->check(CLI::Range(1, 100000));
  app.add_option("--requests,-n", o.requests)->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--warmup", o.warmup, "requests sent first and not recorded");
  app.add_option("--timeout-s", o.timeout_s, "per request");
  app.add_flag("--json", o.json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  Shared s;
  s.options = &o;
  if (!o.bodies_path.empty()) {
    std::ifstream in(o.bodies_path);
    if (!in) {
      std::fprintf(stderr, "serve_load: cannot read %s\n", o.bodies_path.c_str());
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) s.bodies.push_back(line);
    }
    if (s.bodies.empty()) {
      std::fprintf(stderr, "serve_load: %s has no request bodies\n", o.bodies_path.c_str());
      return 2;
    }
  }
  if (o.warmup > 0) Phase(&s, o.warmup, false);
  s.next = 0;
  double wall = Phase(&s, o.requests, true);

  std::vector<double> l = s.latencies_ms;
  std::sort(l.begin(), l.end());
  nlohmann::json out = {{"target", o.target},
                        {"connections", o.connections},
                        {"requests", o.requests},
                        {"ok", l.size()},
                        {"failures", s.failures},
                        {"wall_s", wall},
                        {"req_per_s", static_cast<double>(l.size()) / wall},
                        {"latency_ms",
                         {{"p50", Percentile(l, 0.50)},
                          {"p90", Percentile(l, 0.90)},
                          {"p99", Percentile(l, 0.99)},
                          {"max", l.empty() ? 0 : l.back()}}}};
  for (const auto& [why, n] : s.reasons) out["failure_reasons"][why] = n;
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s  connections %d  requests %lld  ok %zu  failures %lld\n", o.target.c_str(), o.connections,
                static_cast<long long>(o.requests), l.size(), static_cast<long long>(s.failures));
    std::printf("wall %.3f s  %.0f req/s  latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", wall,
                static_cast<double>(l.size()) / wall, Percentile(l, 0.5), Percentile(l, 0.9), Percentile(l, 0.99),
                l.empty() ? 0.0 : l.back());
    int shown = 0;
    for (const auto& [why, n] : s.reasons) {
      if (shown++ < 5) std::printf("  failure: %s x%lld\n", why.c_str(), static_cast<long long>(n));
    }
  }
  return s.failures == 0 ? 0 : 1;
}
