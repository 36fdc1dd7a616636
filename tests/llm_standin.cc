// lathe_llm_standin: a stand-in for an OpenAI-compatible LLM and embedding
// server, for tests and benchmarks. A real HTTP/1.1 server (Boost.Beast,
// C++20 coroutines) on one thread: every connection is a coroutine and every
// wait a timer, so thousands of slow requests cost memory, not threads.
//
//   POST /v1/chat/completions  stream and non-stream; a grounded echo answer
//   POST /v1/embeddings        deterministic hashed bag-of-words vectors
//   GET  /v1/models            the one model
//   POST /control              switch behaviour (see Behaviour below)
//   GET  /stats                request counts and peak concurrency
//
// Prints "listening on PORT" as its first stdout line once it accepts.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// How the next chat/embedding requests are answered. Set by POST /control:
//   mode        ok | slow (wait delay_ms, then answer) | status (answer with
//               `status` and an OpenAI error body) | hang (never answer; the
//               connection stays open until the client gives up) |
//               reset_mid_stream (streams: two pieces, then a TCP reset;
//               others: reset before answering) | bad_json (200 with an
//               invalid body) | missing_fields (200 with valid JSON lacking
//               choices / data)
//   delay_ms    for slow
//   status      for status (default 500)
//   retry_after seconds, sent as Retry-After with status answers
//   fail_times  0: the mode lasts until changed; K > 0: the next K requests
//               get the mode, then the stand-in is ok again
// Each /control call sets all of these (absent fields take their defaults).
// Sticky settings, changed only when present: reply (fixed chat text; "" =
// grounded echo), dim (embedding size), piece_delay_ms (between stream
// pieces), reset_stats (true zeroes /stats).
struct Behaviour {
  std::string mode = "ok";
  int delay_ms = 0;
  int status = 500;
  std::optional<int> retry_after;
  int fail_times = 0;
};

struct State {
  Behaviour behaviour;
  std::string reply;  // empty: grounded echo
  std::string model = "standin";
  std::string api_key;
  int dim = 64;
  int piece_delay_ms = 0;
  uint64_t chat_requests = 0;
  uint64_t embedding_requests = 0;
  uint64_t connections = 0;  // accepted since start (not reset)
  int64_t in_flight = 0;
  int64_t max_concurrent = 0;

  // The behaviour for the next counted request; consumes one of fail_times.
  Behaviour Next() {
    Behaviour b = behaviour;
    if (behaviour.fail_times > 0 && --behaviour.fail_times == 0) behaviour = Behaviour();
    return b;
  }
};

State g_state;  // one thread: no locking

// Counts a request as in flight for its lifetime.
class InFlight {
 public:
  InFlight() {
    ++g_state.in_flight;
    g_state.max_concurrent = std::max(g_state.max_concurrent, g_state.in_flight);
  }
  ~InFlight() { --g_state.in_flight; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// 'According to the documentation, "<first 8 words of chunk [1]>" [1].' where
// chunk [1] is the text after the first line starting with "[1]" in any
// message, up to a blank line or the next "[n]" line.
std::string GroundedReply(const json& messages) {
  if (!messages.is_array()) return "I could not find the answer in the provided documentation.";
  for (const json& message : messages) {
    if (!message.is_object() || !message.contains("content") || !message["content"].is_string()) continue;
    std::istringstream in(message["content"].get<std::string>());
    std::string line, chunk;
    bool inside = false;
    while (std::getline(in, line)) {
      std::string t = Trim(line);
      if (!inside) {
        if (t.rfind("[1]", 0) == 0) {
          inside = true;
          chunk = t.substr(3);
        }
        continue;
      }
      if (t.empty() || (t.size() > 1 && t[0] == '[' && std::isdigit(static_cast<unsigned char>(t[1])))) break;
      chunk += " " + t;
    }
    if (!inside) continue;
    std::vector<std::string> words = Words(chunk);
    std::string quote;
    for (size_t i = 0; i < words.size() && i < 8; ++i) {
      std::string w;
      for (char c : words[i]) {
        if (c != '"') w += c;
      }
      if (w.empty()) continue;
      if (!quote.empty()) quote += " ";
      quote += w;
    }
    return "According to the documentation, \"" + quote + "\" [1].";
  }
  return "I could not find the answer in the provided documentation.";
}

std::vector<float> HashedVector(const std::string& text, int dim) {
  std::vector<float> v(static_cast<size_t>(dim), 0.0f);
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    uint64_t h = Fnv1a(word);
    v[h % static_cast<uint64_t>(dim)] += (h >> 63) ? -1.0f : 1.0f;
    word.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  bool zero = true;
  for (float x : v) zero = zero && x == 0.0f;
  if (zero) v[0] = 1.0f;
  // Deliberately not unit length: clients must normalise.
  for (float& x : v) x *= 3.0f;
  return v;
}

using Request = http::request<http::string_body>;

http::response<http::string_body> JsonResponse(const Request& req, http::status status, const json& body) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

json ErrorBody(const std::string& message, const std::string& type) {
  return json{{"error", {{"message", message}, {"type", type}}}};
}

asio::awaitable<void> Sleep(int ms) {
  if (ms <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(kTuple);
}

// Aborts the connection with a TCP reset. A reset with linger 0 throws away
// whatever is still in the send queue, so bytes already written (the pieces a
// reset_mid_stream client must see) would vanish whenever Nagle or a loaded
// machine kept them queued: first wait, bounded, until the peer has
// acknowledged every byte (SIOCOUTQ counts unsent and unacknowledged ones).
asio::awaitable<void> Reset(beast::tcp_stream& stream) {
  const int fd = stream.socket().native_handle();
  for (int waited_ms = 0; waited_ms < 2000; waited_ms += 2) {
    int queued = 0;
    if (ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0) break;
    co_await Sleep(2);
  }
  beast::error_code ec;
  stream.socket().set_option(asio::socket_base::linger(true, 0), ec);
  stream.socket().close(ec);
}

// Holds the connection without answering until the client closes it.
asio::awaitable<void> Hang(beast::tcp_stream& stream) {
  using namespace asio::experimental::awaitable_operators;
  stream.expires_never();
  char byte;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
  co_await (stream.socket().async_read_some(asio::buffer(&byte, 1), kTuple) || timer.async_wait(kTuple));
}

// Applies the failure part of a behaviour. Returns true when the request is
// done with (answered or the connection dropped); *keep says whether the
// connection may be reused.
asio::awaitable<bool> ApplyFailure(beast::tcp_stream& stream, const Request& req, const Behaviour& b, bool streaming,
                                   bool* keep) {
  *keep = false;
  if (b.mode == "slow") {
    co_await Sleep(b.delay_ms);
    co_return false;
  }
  if (b.mode == "hang") {
    co_await Hang(stream);
    co_return true;
  }
  if (b.mode == "status") {
    auto res = JsonResponse(req, static_cast<http::status>(b.status),
                            ErrorBody("stand-in failure: status " + std::to_string(b.status),
                                      b.status == 429 ? "rate_limit_exceeded" : "server_error"));
    if (b.retry_after) res.set(http::field::retry_after, std::to_string(*b.retry_after));
    co_await http::async_write(stream, res, kTuple);
    *keep = req.keep_alive();
    co_return true;
  }
  if (b.mode == "reset_mid_stream" && !streaming) {
    co_await Reset(stream);
    co_return true;
  }
  *keep = true;
  co_return false;
}

asio::awaitable<bool> HandleChat(beast::tcp_stream& stream, const Request& req) {
  ++g_state.chat_requests;
  InFlight in_flight;
  json body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("messages")) {
    {
    auto response = JsonResponse(req, http::status::bad_request, ErrorBody("body needs messages", "invalid_request_error"));
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }
  bool streaming = body.value("stream", false);
  Behaviour b = g_state.Next();
  bool keep = true;
  if (co_await ApplyFailure(stream, req, b, streaming, &keep)) co_return keep;
  std::string reply = g_state.reply.empty() ? GroundedReply(body["messages"]) : g_state.reply;
  std::string model = body.value("model", g_state.model);

  if (b.mode == "bad_json") {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, streaming ? "text/event-stream" : "application/json");
    res.body() = streaming ? "data: {\"choices\": [ {oops\n\n" : "{\"choices\": [ {oops";
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
    co_return req.keep_alive();
  }
  if (b.mode == "missing_fields") {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, streaming ? "text/event-stream" : "application/json");
    res.body() = streaming ? "data: {\"object\":\"chat.completion.chunk\"}\n\ndata: [DONE]\n\n"
                           : "{\"object\":\"chat.completion\",\"choices\":[]}";
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
    co_return req.keep_alive();
  }

  if (!streaming) {
    json out = {{"id", "chatcmpl-standin"},
                {"object", "chat.completion"},
                {"created", 0},
                {"model", model},
                {"choices",
                 {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", reply}}}, {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", 0}, {"completion_tokens", Words(reply).size()}}}};
    {
    auto response = JsonResponse(req, http::status::ok, out);
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }

  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.chunked(true);
  res.keep_alive(req.keep_alive());
  http::response_serializer<http::empty_body> serializer{res};
  auto [header_ec, header_n] = co_await http::async_write_header(stream, serializer, kTuple);
  if (header_ec) co_return false;
  auto event = [&](const json& delta, const json& finish) {
    json chunk = {{"id", "chatcmpl-standin"},
                  {"object", "chat.completion.chunk"},
                  {"created", 0},
                  {"model", model},
                  {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
    return "data: " + chunk.dump() + "\n\n";
  };
  // Pieces: each word with its following space, the way tokenisers split.
  std::vector<std::string> pieces;
  for (size_t i = 0; i < reply.size();) {
    size_t space = reply.find(' ', i);
    size_t end = space == std::string::npos ? reply.size() : space + 1;
    pieces.push_back(reply.substr(i, end - i));
    i = end;
  }
  std::vector<std::string> events;
  events.push_back(event({{"role", "assistant"}, {"content", ""}}, nullptr));
  for (const std::string& p : pieces) events.push_back(event({{"content", p}}, nullptr));
  events.push_back(event(json::object(), "stop"));
  events.push_back("data: [DONE]\n\n");
  for (size_t i = 0; i < events.size(); ++i) {
    if (b.mode == "reset_mid_stream" && i == 3) {  // role event and two pieces went out
      co_await Reset(stream);
      co_return false;
    }
    if (i > 1) co_await Sleep(g_state.piece_delay_ms);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(events[i])), kTuple);
    if (ec) co_return false;
  }
  auto [last_ec, last_n] = co_await asio::async_write(stream, http::make_chunk_last(), kTuple);
  co_return !last_ec && req.keep_alive();
}

asio::awaitable<bool> HandleEmbeddings(beast::tcp_stream& stream, const Request& req) {
  ++g_state.embedding_requests;
  InFlight in_flight;
  json body = json::parse(req.body(), nullptr, false);
  std::vector<std::string> inputs;
  if (body.is_object() && body.contains("input")) {
    if (body["input"].is_string()) inputs.push_back(body["input"].get<std::string>());
    if (body["input"].is_array()) {
      for (const json& x : body["input"]) {
        if (x.is_string()) inputs.push_back(x.get<std::string>());
      }
    }
  }
  if (inputs.empty()) {
    {
    auto response = JsonResponse(req, http::status::bad_request, ErrorBody("input must be a string or strings", "invalid_request_error"));
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }
  Behaviour b = g_state.Next();
  bool keep = true;
  if (co_await ApplyFailure(stream, req, b, false, &keep)) co_return keep;
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  if (b.mode == "bad_json") {
    res.body() = "{\"data\": [ {oops";
  } else if (b.mode == "missing_fields") {
    res.body() = "{\"object\":\"list\",\"data\":[{\"index\":0}]}";
  } else {
    // Reverse order on purpose: clients must sort by index.
    json data = json::array();
    for (size_t i = inputs.size(); i-- > 0;) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", HashedVector(inputs[i], g_state.dim)}});
    }
    res.body() = json{{"object", "list"},
                      {"model", body.value("model", g_state.model)},
                      {"data", data},
                      {"usage", {{"prompt_tokens", 0}, {"total_tokens", 0}}}}
                     .dump();
  }
  res.prepare_payload();
  co_await http::async_write(stream, res, kTuple);
  co_return req.keep_alive();
}

json StatsJson() {
  return {{"chat_requests", g_state.chat_requests},
          {"embedding_requests", g_state.embedding_requests},
          {"max_concurrent", g_state.max_concurrent},
          {"in_flight", g_state.in_flight},
          {"connections", g_state.connections}};
}

std::optional<std::string> ApplyControl(const json& c) {
  if (!c.is_object()) return "control body must be a JSON object";
  Behaviour b;
  b.mode = c.value("mode", std::string("ok"));
  static const char* kModes[] = {"ok", "slow", "status", "hang", "reset_mid_stream", "bad_json", "missing_fields"};
  if (std::find(std::begin(kModes), std::end(kModes), b.mode) == std::end(kModes)) return "unknown mode " + b.mode;
  b.delay_ms = c.value("delay_ms", 0);
  b.status = c.value("status", 500);
  b.fail_times = c.value("fail_times", 0);
  if (c.contains("retry_after")) b.retry_after = c["retry_after"].get<int>();
  g_state.behaviour = b;
  if (c.contains("reply")) g_state.reply = c["reply"].get<std::string>();
  if (c.contains("dim")) g_state.dim = std::max(1, c["dim"].get<int>());
  if (c.contains("piece_delay_ms")) g_state.piece_delay_ms = c["piece_delay_ms"].get<int>();
  if (c.value("reset_stats", false)) {
    g_state.chat_requests = g_state.embedding_requests = 0;
    g_state.max_concurrent = g_state.in_flight;
  }
  return std::nullopt;
}

// Answers one request; false when the connection must close.
asio::awaitable<bool> Handle(beast::tcp_stream& stream, const Request& req) {
  std::string target(req.target());
  if (target.rfind("/v1/", 0) == 0 && !g_state.api_key.empty() &&
      req[http::field::authorization] != "Bearer " + g_state.api_key) {
    {
    auto response = JsonResponse(req, http::status::unauthorized, ErrorBody("missing or wrong API key", "invalid_request_error"));
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }
  if (req.method() == http::verb::post && target == "/v1/chat/completions") co_return co_await HandleChat(stream, req);
  if (req.method() == http::verb::post && target == "/v1/embeddings") co_return co_await HandleEmbeddings(stream, req);
  if (req.method() == http::verb::get && target == "/v1/models") {
    json models = {{"object", "list"}, {"data", {{{"id", g_state.model}, {"object", "model"}, {"owned_by", "lathe"}}}}};
    {
    auto response = JsonResponse(req, http::status::ok, models);
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }
  if (req.method() == http::verb::get && target == "/stats") {
    {
    auto response = JsonResponse(req, http::status::ok, StatsJson());
    co_await http::async_write(stream, response, kTuple);
  }
    co_return req.keep_alive();
  }
  if (req.method() == http::verb::post && target == "/control") {
    std::optional<std::string> error;
    try {
      error = ApplyControl(json::parse(req.body()));
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error) {
      {
    auto response = JsonResponse(req, http::status::bad_request, ErrorBody(*error, "control"));
    co_await http::async_write(stream, response, kTuple);
  }
    } else {
      {
    auto response = JsonResponse(req, http::status::ok, json{{"ok", true}});
    co_await http::async_write(stream, response, kTuple);
  }
    }
    co_return req.keep_alive();
  }
  {
    auto response = JsonResponse(req, http::status::not_found, ErrorBody("no route " + target, "not_found"));
    co_await http::async_write(stream, response, kTuple);
  }
  co_return req.keep_alive();
}

asio::awaitable<void> Session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  try {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256u << 20);
      stream.expires_after(std::chrono::minutes(5));  // idle keep-alive connections
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) break;
      stream.expires_never();
      Request req = parser.release();
      if (!co_await Handle(stream, req)) break;
    }
  } catch (const std::exception& e) {
    std::cerr << "standin: session: " << e.what() << "\n";
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Listen(tcp::acceptor& acceptor) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      co_await Sleep(10);
      continue;
    }
    ++g_state.connections;
    asio::co_spawn(ex, Session(std::move(socket)), asio::detached);
  }
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Usage() {
  std::cerr << "usage: lathe_llm_standin [--host 127.0.0.1] [--port 0] [--dim 64] [--model standin]\n"
               "                         [--reply TEXT] [--api-key KEY] [--piece-delay-ms 0]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return Usage();
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    try {
      if (flag == "--host") host = value;
      else if (flag == "--port") port = std::stoi(value);
      else if (flag == "--dim") g_state.dim = std::max(1, std::stoi(value));
      else if (flag == "--model") g_state.model = value;
      else if (flag == "--reply") g_state.reply = value;
      else if (flag == "--api-key") g_state.api_key = value;
      else if (flag == "--piece-delay-ms") g_state.piece_delay_ms = std::stoi(value);
      else return Usage();
    } catch (const std::exception&) {
      return Usage();
    }
  }
  RaiseFileLimit();
  try {
    asio::io_context io(1);
    tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    tcp::acceptor acceptor(io);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::printf("listening on %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) { io.stop(); });
    asio::co_spawn(io, Listen(acceptor), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "lathe_llm_standin: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
