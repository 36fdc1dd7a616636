// serve_load: a closed-loop HTTP load generator for `lathe serve` (and any
// HTTP/1.1 JSON server). C connections, each a coroutine on one I/O thread,
// send requests one after another over keep-alive until N requests have been
// sent in all; every latency is recorded. With C == N every connection sends
// exactly one request, all at once: the "N concurrent requests" case.
//
//   serve_load --port P --target /v1/search --key K --bodies bodies.jsonl
//       --connections 16 --requests 20000 [--warmup 500] [--json] [--preconnect]
//
// bodies.jsonl holds one request body a line, used in turn. Prints requests,
// failures (transport errors and non-2xx, with the first few reasons), the
// wall time, throughput and latency percentiles in milliseconds.
//
// Predict mode: serve_load --predict --port P --key K --customers 5000
//       --terminals 10000 --start-ts TS --first-id ID [--batch 1000] [--no-explain]
// makes the bodies itself for POST /v1/models/fraud/predict: every transaction
// a new id (ID, ID+1, ...) and a ts one --ts-step after the previous one
// (from TS, which must be after the store's last transaction), for a random
// known customer and terminal (ids 1..N, --seed). Warm-up and measured
// requests never reuse a body (a second prediction of an id is a 409). Send
// them on one connection: on several, a later request of a card may overtake
// an earlier one and be refused as out of order. A batch answered 200 with
// "refused" > 0 counts as a failure. Also prints rows/s.
#include <sys/resource.h>

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
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
  double max_seconds = 0;  // stop handing out requests after this long (0: no limit)
  bool json = false;
  bool preconnect = false;  // open every connection before the clock starts
  // --predict
  bool predict = false;
  int batch = 0;  // 0: one transaction object per request
  bool no_explain = false;
  int64_t customers = 5000, terminals = 10000, start_ts = 0, first_id = 0, ts_step = 1;
  uint64_t seed = 1;
};

struct Shared {
  const Options* options;
  std::vector<std::string> bodies;
  int64_t body_offset = 0;  // body of request i: bodies[(body_offset + i) % size]
  int64_t next = 0;  // requests handed out (one I/O thread: no lock)
  Clock::time_point deadline = Clock::time_point::max();
  std::vector<double> latencies_ms;
  int64_t failures = 0;
  std::map<std::string, int64_t> reasons;
  void Fail(const std::string& why) {
    ++failures;
    ++reasons[why];
  }
};

// " code" of an error body {"error": {"code": ...}} (or of a batch's first
// refused entry); "" when there is none.
std::string ErrorCode(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  if (j.contains("predictions") && j["predictions"].is_array()) {
    for (const auto& p : j["predictions"]) {
      if (p.is_object() && p.contains("error")) return ErrorCode(p.dump());
    }
  }
  if (j.contains("error") && j["error"].is_object() && j["error"].contains("code") &&
      j["error"]["code"].is_string()) {
    return " " + j["error"]["code"].get<std::string>();
  }
  return "";
}

// The "refused" count of a batch answer; -1 when the body is not one.
int64_t BatchRefused(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("refused") || !j["refused"].is_number_integer()) return -1;
  return j["refused"].get<int64_t>();
}

// Predict mode: n request bodies of max(batch, 1) new transactions each.
std::vector<std::string> PredictBodies(const Options& o, int64_t n) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int64_t> customer(1, o.customers), terminal(1, o.terminals);
  std::uniform_real_distribution<double> amount(1, 300);
  int64_t id = o.first_id, ts = o.start_ts;
  auto next_tx = [&] {
    int64_t c = customer(rng);
    nlohmann::json tx = {{"transaction_id", id++},
                         {"ts", ts},
                         {"customer_id", c},
                         {"terminal_id", terminal(rng)},
                         {"amount", std::round(amount(rng) * 100) / 100}};
    tx["device_id"] = (c % 2 == 0) ? nlohmann::json("d" + std::to_string(c)) : nlohmann::json(nullptr);
    ts += o.ts_step;
    return tx;
  };
  std::vector<std::string> bodies;
  bodies.reserve(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    nlohmann::json body;
    if (o.batch == 0) {
      body = next_tx();
    } else {
      body["transactions"] = nlohmann::json::array();
      for (int k = 0; k < o.batch; ++k) body["transactions"].push_back(next_tx());
    }
    if (o.no_explain) body["explain"] = false;
    bodies.push_back(body.dump());
  }
  return bodies;
}

// Opens stream to endpoint, with Nagle off as a client sending whole requests wants.
asio::awaitable<beast::error_code> Connect(beast::tcp_stream& stream, const tcp::endpoint& endpoint) {
  auto [ec] = co_await stream.async_connect(endpoint, kTuple);
  if (!ec) stream.socket().set_option(tcp::no_delay(true));
  co_return ec;
}

asio::awaitable<void> Connection(Shared* s, tcp::endpoint endpoint, int64_t limit, bool record,
                                 std::unique_ptr<beast::tcp_stream> open) {
  const Options& o = *s->options;
  // With --preconnect the connection was opened before the clock started.
  bool connected = open != nullptr;
  if (!open) open = std::make_unique<beast::tcp_stream>(co_await asio::this_coro::executor);
  beast::tcp_stream& stream = *open;
  beast::flat_buffer buffer;
  while (s->next < limit && Clock::now() < s->deadline) {
    int64_t i = s->next++;
    auto start = Clock::now();
    stream.expires_after(std::chrono::seconds(o.timeout_s));
    if (!connected) {
      if (beast::error_code ec = co_await Connect(stream, endpoint)) {
        if (record) s->Fail("connect: " + ec.message());
        continue;
      }
      connected = true;
    }
    http::request<http::string_body> req{http::string_to_verb(o.method), o.target, 11};
    req.set(http::field::host, o.host);
    if (!o.key.empty()) req.set(http::field::authorization, "Bearer " + o.key);
    if (!s->bodies.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = s->bodies[static_cast<size_t>(s->body_offset + i) % s->bodies.size()];
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
        s->Fail("HTTP " + std::to_string(res.result_int()) + ErrorCode(res.body()));
      } else if (o.predict && o.batch > 0 && BatchRefused(res.body()) != 0) {
        s->Fail("batch with refused rows" + ErrorCode(res.body()));
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

// Opens one connection (before the clock starts, for --preconnect).
asio::awaitable<void> Open(tcp::endpoint endpoint, std::unique_ptr<beast::tcp_stream>* out, int* failed) {
  auto stream = std::make_unique<beast::tcp_stream>(co_await asio::this_coro::executor);
  stream->expires_after(std::chrono::seconds(30));
  if (co_await Connect(*stream, endpoint)) {
    ++*failed;
    co_return;
  }
  *out = std::move(stream);
}

// Runs connections until `limit` requests were handed out; returns wall seconds.
double Phase(Shared* s, int64_t limit, bool record) {
  asio::io_context io(1);
  tcp::endpoint endpoint(asio::ip::make_address(s->options->host), static_cast<unsigned short>(s->options->port));
  std::vector<std::unique_ptr<beast::tcp_stream>> open(static_cast<size_t>(s->options->connections));
  if (s->options->preconnect) {
    int failed = 0;
    for (auto& stream : open) asio::co_spawn(io, Open(endpoint, &stream, &failed), asio::detached);
    io.run();
    io.restart();
    if (failed > 0) std::fprintf(stderr, "serve_load: %d of the connections could not be opened\n", failed);
  }
  auto start = Clock::now();
  for (int c = 0; c < s->options->connections; ++c) {
    asio::co_spawn(io, Connection(s, endpoint, limit, record, std::move(open[static_cast<size_t>(c)])),
                   asio::detached);
  }
  io.run();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// User plus system CPU seconds of this process so far.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
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
  app.add_option("--max-seconds", o.max_seconds, "stop sending after this long in the measured phase (0: no limit)");
  app.add_flag("--json", o.json, "print one JSON object");
  app.add_flag("--preconnect", o.preconnect,
               "open every connection before the clock starts (measures requests, not TCP set-up)");
  app.add_flag("--predict", o.predict, "make new transactions for POST /v1/models/fraud/predict (no --bodies)");
  app.add_option("--batch", o.batch, "transactions a request ({\"transactions\": [...]}); 0: one object")
      ->check(CLI::Range(0, 100000));
  app.add_flag("--no-explain", o.no_explain, "send \"explain\": false");
  app.add_option("--customers", o.customers, "customer ids 1..N")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--terminals", o.terminals, "terminal ids 1..N")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--start-ts", o.start_ts, "unix seconds of the first transaction (after the store's last)");
  app.add_option("--ts-step", o.ts_step, "seconds between consecutive transactions")->check(CLI::Range(0, 86400));
  app.add_option("--first-id", o.first_id, "id of the first transaction (ids not in the store)");
  app.add_option("--seed", o.seed, "random seed for customers, terminals and amounts");
  CLI11_PARSE(app, argc, argv);
  if (o.predict) {
    if (!o.bodies_path.empty()) {
      std::fprintf(stderr, "serve_load: --predict makes its own bodies; drop --bodies\n");
      return 2;
    }
    if (o.start_ts <= 0 || o.first_id <= 0) {
      std::fprintf(stderr, "serve_load: --predict needs --start-ts and --first-id (both > 0)\n");
      return 2;
    }
    if (o.target == "/v1/search") o.target = "/v1/models/fraud/predict";
  }

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
  if (o.predict) {
    s.bodies = PredictBodies(o, o.warmup + o.requests);
  }
  if (o.warmup > 0) Phase(&s, o.warmup, false);
  s.next = 0;
  // Predict mode: the measured phase must not resend a warm-up transaction.
  if (o.predict) s.body_offset = o.warmup;
  if (o.max_seconds > 0) {
    s.deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.max_seconds));
  }
  const double cpu_before = CpuSeconds();
  double wall = Phase(&s, o.requests, true);
  const double cpu = CpuSeconds() - cpu_before;
  const int64_t rows_a_request = o.predict ? std::max(o.batch, 1) : 1;

  std::vector<double> l = s.latencies_ms;
  std::sort(l.begin(), l.end());
  nlohmann::json out = {{"target", o.target},
                        {"connections", o.connections},
                        {"requests", o.requests},
                        {"ok", l.size()},
                        {"failures", s.failures},
                        {"wall_s", wall},
                        {"sent", s.next},
                        {"req_per_s", static_cast<double>(l.size()) / wall},
                        {"client_cpu_s", cpu},
                        {"latency_ms",
                         {{"p50", Percentile(l, 0.50)},
                          {"p90", Percentile(l, 0.90)},
                          {"p99", Percentile(l, 0.99)},
                          {"max", l.empty() ? 0 : l.back()}}}};
  if (o.predict) {
    out["batch"] = o.batch;
    out["explain"] = !o.no_explain;
    out["rows"] = static_cast<int64_t>(l.size()) * rows_a_request;
    out["rows_per_s"] = static_cast<double>(l.size() * rows_a_request) / wall;
  }
  for (const auto& [why, n] : s.reasons) out["failure_reasons"][why] = n;
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s  connections %d  requests %lld  ok %zu  failures %lld\n", o.target.c_str(), o.connections,
                static_cast<long long>(o.requests), l.size(), static_cast<long long>(s.failures));
    std::printf("wall %.3f s  %.0f req/s  latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  client CPU %.2f s\n",
                wall, static_cast<double>(l.size()) / wall, Percentile(l, 0.5), Percentile(l, 0.9),
                Percentile(l, 0.99), l.empty() ? 0.0 : l.back(), cpu);
    if (o.predict) {
      std::printf("predict batch %d explain %s  %.0f rows/s\n", o.batch, o.no_explain ? "false" : "true",
                  static_cast<double>(l.size() * rows_a_request) / wall);
    }
    if (s.next < o.requests) {
      std::printf("stopped at --max-seconds after %lld requests\n", static_cast<long long>(s.next));
    }
    int shown = 0;
    for (const auto& [why, n] : s.reasons) {
      if (shown++ < 5) std::printf("  failure: %s x%lld\n", why.c_str(), static_cast<long long>(n));
    }
  }
  return s.failures == 0 ? 0 : 1;
}
