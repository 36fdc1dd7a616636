// HttpClient: an asynchronous HTTP/1.1 client (Boost.Beast, C++20 coroutines)
// for upstream services — OpenAI-compatible LLM and embedding servers. Plain
// HTTP and HTTPS (OpenSSL, peer verified against the system store, SNI).
// Plain-HTTP connections are kept alive and reused (up to kMaxIdlePerHost idle
// ones per host; a reused connection the server has closed meanwhile is
// replaced transparently); HTTPS connections are made per request. Thread-safe:
// concurrent Send/Stream calls are independent. Never throws; errors are
// Status values.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace boost::asio::ssl { class context; }

namespace lathe::net {

// An absolute http:// or https:// URL split into parts. port is filled in
// (80/443) when the URL has none; target is the path and query ("/" at least).
struct Url {
  std::string scheme;
  std::string host;
  std::string port;
  std::string target;
  // InvalidArgument naming the URL and what is wrong with it.
  static Result<Url> Parse(const std::string& url);
};

// base + "/" + path, without doubled slashes ("http://h/v1/" + "embeddings").
std::string JoinUrl(std::string base, std::string_view path);

struct ClientRequest {
  std::string method = "POST";  // GET, POST, ...
  std::string url;              // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Send: the whole exchange (resolve, connect, TLS, write, read) must finish
  // within this. Stream: everything up to the response headers must finish
  // within this, and so must the wait for each further body piece.
  std::chrono::milliseconds timeout{30000};
  // Absolute limit for the whole exchange, stream body included. The default
  // (max) means only `timeout` applies.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Largest response body Send accepts (Unavailable beyond it).
  size_t body_limit = 256u << 20;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  // Send: the whole body. Stream: empty for 2xx (the pieces went to on_data);
  // for any other status the (error) body is collected here instead.
  std::string body;
  // Value of a header (case-insensitive name), empty when absent.
  std::string Header(std::string_view name) const;
};

// Receives one body piece; the awaitable completes when the piece has been
// handled (backpressure). Returning false stops reading.
using BodySink = std::function<boost::asio::awaitable<bool>(std::string_view)>;

// True when status is an HttpClient error from before the request was sent
// (resolve, connect, TLS handshake): the upstream never saw the request.
bool IsConnectFailure(const Status& status);

class HttpClient {
 public:
  // ex runs the client's I/O (an I/O thread's executor, never the CPU pool).
  // Loads the system's trusted CA certificates once. The client (its idle
  // connections) must be destroyed, or CloseIdle called, before ex's
  // execution context.
  explicit HttpClient(boost::asio::any_io_executor ex);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends request and reads the whole response. Errors: InvalidArgument (bad
  // URL), Unavailable (resolve/connect/TLS/reset/oversized body, naming the
  // host and cause), DeadlineExceeded (timeout). Any HTTP status is a
  // successful Result.
  boost::asio::awaitable<Result<ClientResponse>> Send(ClientRequest request);

  // Like Send, but for a 2xx response hands body bytes to on_data as they
  // arrive (after the headers; chunked encoding already removed). on_data
  // returning false stops reading (the result is then OK). Same errors as
  // Send, plus Unavailable when the connection breaks mid-body.
  boost::asio::awaitable<Result<ClientResponse>> Stream(ClientRequest request, BodySink on_data);

  // Closes the idle keep-alive connections. Not while the executor runs.
  void CloseIdle();

 private:
  static constexpr size_t kMaxIdlePerHost = 1024;
  boost::asio::awaitable<Result<ClientResponse>> Exchange(ClientRequest request, BodySink* on_data);
  // An open idle connection to host:port, or nullptr.
  std::unique_ptr<boost::beast::tcp_stream> TakeIdle(const std::string& key);
  void PutIdle(const std::string& key, std::unique_ptr<boost::beast::tcp_stream> stream);

  boost::asio::any_io_executor ex_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::mutex idle_mu_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<boost::beast::tcp_stream>>> idle_;  // guarded by idle_mu_
};

}  // namespace lathe::net
