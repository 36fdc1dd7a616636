// HttpClient: an asynchronous HTTP/1.1 client (Boost.Beast, C++20 coroutines)
// for upstream services — OpenAI-compatible LLM and embedding servers. Plain
// HTTP and HTTPS (OpenSSL, peer verified against the system store). One
// connection per request (upstream calls last hundreds of milliseconds; a
// connection pool is not worth its complexity yet). Thread-safe: concurrent
// Send/Stream calls are independent.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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

struct ClientRequest {
  std::string method = "POST";  // GET, POST, ...
  std::string url;              // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whole exchange (connect, write, read) must finish within this; for a
  // stream, the time between two received pieces must not exceed it either.
  std::chrono::milliseconds timeout{30000};
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty for Stream (the pieces went to on_data)
  // Value of a header (case-insensitive name), empty when absent.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  // ex runs the client's I/O (an I/O thread's executor, never the CPU pool).
  explicit HttpClient(boost::asio::any_io_executor ex);
  ~HttpClient();

  // Sends request and reads the whole response. Errors: InvalidArgument (bad
  // URL), Unavailable (resolve/connect/TLS/reset, naming the host and cause),
  // DeadlineExceeded (timeout). Any HTTP status is a successful Result.
  boost::asio::awaitable<Result<ClientResponse>> Send(ClientRequest request);

  // Like Send, but hands body bytes to on_data as they arrive (after the
  // headers; chunked encoding already removed). on_data returning false stops
  // reading (the result is then OK). Same errors as Send, plus Unavailable when
  // the connection breaks mid-body.
  boost::asio::awaitable<Result<ClientResponse>> Stream(ClientRequest request,
                                                        std::function<bool(std::string_view)> on_data);

 private:
  boost::asio::any_io_executor ex_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace lathe::net
