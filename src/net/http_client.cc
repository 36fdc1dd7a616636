#include "net/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <exception>

namespace lathe::net {

std::string JoinUrl(std::string base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return base + "/" + std::string(path);
}
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Non-2xx bodies of a Stream are error messages; more than this is noise.
constexpr size_t kMaxErrorBody = 1u << 20;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Where(const Url& url) { return url.host + ":" + url.port; }

// The Status for a failed network step ("connecting to", "reading response from").
Status StepError(const Url& url, std::string_view step, const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return DeadlineExceeded(fmt::format("{} {}: timed out", step, Where(url)));
  }
  return Unavailable(fmt::format("{} {}: {}", step, Where(url), ec.message()));
}

Clock::time_point Earliest(Clock::time_point deadline, std::chrono::milliseconds timeout) {
  Clock::time_point now = Clock::now();
  // Guard against overflow when deadline is time_point::max().
  if (deadline - now <= timeout) return deadline;
  return now + timeout;
}

template <typename Fields>
void CopyHeaders(const Fields& fields, ClientResponse* out) {
  for (const auto& field : fields) out->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
}

asio::awaitable<Status> Connect(beast::tcp_stream& stream, const Url& url, Clock::time_point deadline) {
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
  asio::ip::address address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    auto port = static_cast<unsigned short>(std::stoi(url.port));
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, port), url.host, url.port);
  } else {
    // getaddrinfo cannot be interrupted; the deadline is checked once it returns.
    tcp::resolver resolver(stream.get_executor());
    auto [resolve_ec, results] = co_await resolver.async_resolve(url.host, url.port, kTuple);
    if (resolve_ec) co_return StepError(url, "resolving", resolve_ec);
    if (Clock::now() >= deadline) co_return DeadlineExceeded(fmt::format("resolving {}: timed out", Where(url)));
    endpoints = std::move(results);
  }
  stream.expires_at(deadline);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kTuple);
  if (connect_ec) co_return StepError(url, "connecting to", connect_ec);
  co_return Status::OK();
}

// Writes msg and reads the response on an established stream (plain or TLS).
template <typename Stream>
// *reusable: the response was read to its end and the server keeps the
// connection open. *answered: response bytes arrived (a failure before that
// on a reused connection means the server had closed it while idle).
asio::awaitable<Result<ClientResponse>> Talk(Stream& stream, const Url& url, http::request<http::string_body>& msg,
                                             const ClientRequest& request, Clock::time_point first_deadline,
                                             BodySink* on_data, bool* reusable, bool* answered) {
  *reusable = false;
  *answered = false;
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_at(first_deadline);
  auto [write_ec, written] = co_await http::async_write(stream, msg, kTuple);
  if (write_ec) co_return StepError(url, "writing request to", write_ec);

  beast::flat_buffer buffer;
  ClientResponse out;
  if (on_data == nullptr) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(request.body_limit);
    auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    *answered = parser.got_some();
    if (read_ec == http::error::body_limit) {
      co_return Unavailable(fmt::format("response from {} exceeds {} bytes", Where(url), request.body_limit));
    }
    if (read_ec) co_return StepError(url, "reading response from", read_ec);
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    CopyHeaders(res, &out);
    out.body = std::move(res.body());
    *reusable = res.keep_alive() && buffer.size() == 0;
    co_return out;
  }

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [header_ec, header_n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  *answered = parser.got_some();
  if (header_ec) co_return StepError(url, "reading response headers from", header_ec);
  out.status = static_cast<int>(parser.get().result_int());
  CopyHeaders(parser.get(), &out);
  const bool collect = out.status / 100 != 2;
  char piece[16384];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    lowest.expires_at(Earliest(request.deadline, request.timeout));
    // read_some (not read) so that each piece is handed on as soon as it arrives.
    auto [read_ec, n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    if (read_ec && read_ec != http::error::need_buffer) {
      co_return StepError(url, "reading response body from", read_ec);
    }
    size_t got = sizeof piece - parser.get().body().size;
    if (got == 0) continue;
    if (collect) {
      if (out.body.size() < kMaxErrorBody) out.body.append(piece, got);
      continue;
    }
    bool more = co_await (*on_data)(std::string_view(piece, got));
    if (!more) co_return out;  // body left unread: the connection is not reused
  }
  *reusable = parser.get().keep_alive() && buffer.size() == 0;
  co_return out;
}

}  // namespace

Result<Url> Url::Parse(const std::string& text) {
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string::npos) return InvalidArgument("URL '" + text + "' has no scheme (expected http:// or https://)");
  url.scheme = text.substr(0, sep);
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "http" && url.scheme != "https") {
    return InvalidArgument("URL '" + text + "' has scheme '" + url.scheme + "' (expected http or https)");
  }
  size_t authority_begin = sep + 3;
  size_t path_begin = text.find_first_of("/?#", authority_begin);
  std::string authority = text.substr(authority_begin, path_begin == std::string::npos ? std::string::npos
                                                                                      : path_begin - authority_begin);
  url.target = path_begin == std::string::npos ? "/" : text.substr(path_begin);
  if (size_t hash = url.target.find('#'); hash != std::string::npos) url.target.resize(hash);
  if (url.target.empty() || url.target[0] != '/') url.target.insert(0, "/");
  if (authority.find('@') != std::string::npos) return InvalidArgument("URL '" + text + "' has user info (unsupported)");
  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return InvalidArgument("URL '" + text + "' has an unclosed IPv6 bracket");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgument("URL '" + text + "' has junk after the IPv6 address");
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return InvalidArgument("URL '" + text + "' has no host");
  if (port.empty()) {
    url.port = url.scheme == "https" ? "443" : "80";
  } else {
    bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!digits || std::stoi(port) == 0 || std::stoi(port) > 65535) {
      return InvalidArgument("URL '" + text + "' has an invalid port '" + port + "'");
    }
    url.port = port;
  }
  return url;
}

bool IsConnectFailure(const Status& status) {
  const std::string& m = status.message();
  return status.code() == StatusCode::kUnavailable &&
         (m.rfind("resolving ", 0) == 0 || m.rfind("connecting to ", 0) == 0 || m.rfind("TLS ", 0) == 0);
}

std::string ClientResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

HttpClient::HttpClient(boost::asio::any_io_executor ex)
    : ex_(std::move(ex)), tls_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client)) {
  beast::error_code ec;
  tls_->set_default_verify_paths(ec);  // a failure shows later as a handshake error naming the host
  tls_->set_verify_mode(asio::ssl::verify_peer, ec);
  tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                    ec);
}

HttpClient::~HttpClient() = default;

std::unique_ptr<beast::tcp_stream> HttpClient::TakeIdle(const std::string& key) {
  std::lock_guard lock(idle_mu_);
  auto it = idle_.find(key);
  while (it != idle_.end() && !it->second.empty()) {
    std::unique_ptr<beast::tcp_stream> s = std::move(it->second.back());
    it->second.pop_back();
    if (s->socket().is_open()) return s;
  }
  return nullptr;
}

void HttpClient::CloseIdle() {
  std::lock_guard lock(idle_mu_);
  idle_.clear();
}

void HttpClient::PutIdle(const std::string& key, std::unique_ptr<beast::tcp_stream> stream) {
  std::lock_guard lock(idle_mu_);
  auto& list = idle_[key];
  if (list.size() < kMaxIdlePerHost) list.push_back(std::move(stream));
}

asio::awaitable<Result<ClientResponse>> HttpClient::Send(ClientRequest request) {
  co_return co_await Exchange(std::move(request), nullptr);
}

asio::awaitable<Result<ClientResponse>> HttpClient::Stream(ClientRequest request, BodySink on_data) {
  co_return co_await Exchange(std::move(request), &on_data);
}

asio::awaitable<Result<ClientResponse>> HttpClient::Exchange(ClientRequest request, BodySink* on_data) {
  Result<Url> parsed = Url::Parse(request.url);
  if (!parsed.ok()) co_return parsed.status();
  const Url& url = *parsed;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) co_return InvalidArgument("unknown HTTP method '" + request.method + "'");
  if (request.timeout.count() <= 0 || Clock::now() >= request.deadline) {
    co_return DeadlineExceeded(fmt::format("request to {}: no time left", Where(url)));
  }
  const Clock::time_point first_deadline = Earliest(request.deadline, request.timeout);

  http::request<http::string_body> msg{verb, url.target, 11};
  bool default_port = (url.scheme == "http" && url.port == "80") || (url.scheme == "https" && url.port == "443");
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  msg.set(http::field::host, default_port ? host : host + ":" + url.port);
  msg.set(http::field::user_agent, "lathe/0.1");
  for (const auto& [name, value] : request.headers) msg.set(name, value);
  msg.body() = std::move(request.body);
  msg.prepare_payload();

  try {
    if (url.scheme == "https") {
      beast::ssl_stream<beast::tcp_stream> stream(ex_, *tls_);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        co_return Unavailable(fmt::format("TLS setup for {}: cannot set SNI host name", Where(url)));
      }
      stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
      Status connected = co_await Connect(beast::get_lowest_layer(stream), url, first_deadline);
      if (!connected.ok()) co_return connected;
      beast::get_lowest_layer(stream).expires_at(first_deadline);
      auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
      if (handshake_ec) co_return StepError(url, "TLS handshake with", handshake_ec);
      // No TLS close_notify exchange afterwards: the response is framed by
      // Content-Length or chunking, so a truncated close cannot go unnoticed.
      bool reusable = false, answered = false;  // TLS connections are not pooled
      co_return co_await Talk(stream, url, msg, request, first_deadline, on_data, &reusable, &answered);
    }
    // Plain HTTP: an idle keep-alive connection to the same host when there
    // is one. If a reused connection fails before any response byte, the
    // server closed it while it sat idle: try once more on a new one.
    const std::string pool_key = url.host + ":" + url.port;
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<beast::tcp_stream> stream = attempt == 0 ? TakeIdle(pool_key) : nullptr;
      const bool reused = stream != nullptr;
      if (!reused) {
        stream = std::make_unique<beast::tcp_stream>(ex_);
        Status connected = co_await Connect(*stream, url, first_deadline);
        if (!connected.ok()) co_return connected;
        stream->socket().set_option(tcp::no_delay(true));
      }
      bool reusable = false, answered = false;
      Result<ClientResponse> result =
          co_await Talk(*stream, url, msg, request, first_deadline, on_data, &reusable, &answered);
      if (!result.ok() && reused && !answered && result.status().code() == StatusCode::kUnavailable) continue;
      if (result.ok() && reusable) {
        stream->expires_never();
        PutIdle(pool_key, std::move(stream));
      } else {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
      co_return result;
    }
  } catch (const std::exception& e) {
    // Asio reports most failures through error codes; this catches the rest
    // (allocation, a throwing sink) so that no exception leaves the client.
    co_return Unavailable(fmt::format("request to {}: {}", Where(url), e.what()));
  }
}

}  // namespace lathe::net
