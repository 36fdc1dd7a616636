// Helpers for tests of `lathe serve` as a real process: start it on a free
// loopback port with a lathe.yaml, wait until it is ready, and talk to it
// with blocking HTTP calls (Boost.Beast) that have a time limit. Not
// thread-safe, except Http, which may be called from several threads.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace lathe::test {

struct HttpResult {
  int status = 0;  // 0: no response (connection refused, reset, timed out)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // why status is 0
  double ms = 0;      // wall time of the call
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline HttpResult Http(int port, const std::string& method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpResult out;
  auto start = std::chrono::steady_clock::now();
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

// The JSON payloads of an SSE body's "data:" lines ("[DONE]" becomes the
// string "[DONE]").
inline std::vector<nlohmann::json> SseEvents(const std::string& body) {
  std::vector<nlohmann::json> events;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    std::string data = line.substr(6);
    if (data == "[DONE]") {
      events.push_back("[DONE]");
    } else {
      events.push_back(nlohmann::json::parse(data, nullptr, false));
    }
  }
  return events;
}

// `lathe --data-dir DIR serve --port 0 --config DIR/lathe.yaml` as a child.
class Server {
 public:
  // Writes yaml to data_dir/lathe.yaml and starts the server; port() is 0
  // when it did not reach "ready".
  Server(const std::string& data_dir, const std::string& yaml) {
#ifdef LATHE_BINARY
    std::string config = data_dir + "/lathe.yaml";
    WriteFile(config, yaml);
    child_ = std::make_unique<Child>(std::vector<std::string>{LATHE_BINARY, "--data-dir", data_dir, "--log-level",
                                                              "warn", "serve", "--port", "0", "--config", config},
                                     Child::Capture::kStdout);
    std::string line;
    int port = 0;
    while (child_->ReadLine(&line)) {
      auto at = line.find("127.0.0.1:");
      if (line.rfind("lathe: listening on", 0) == 0 && at != std::string::npos) port = std::stoi(line.substr(at + 10));
      if (line == "lathe: ready") {
        port_ = port;
        break;
      }
    }
#endif
  }
  int port() const { return port_; }
  Child* child() { return child_.get(); }

  HttpResult Get(const std::string& target, const std::string& key = "") const {
    return Http(port_, "GET", target, "", Auth(key));
  }
  HttpResult Post(const std::string& target, const nlohmann::json& body, const std::string& key = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return Http(port_, "POST", target, body.dump(), Auth(key), timeout);
  }
  HttpResult Delete(const std::string& target, const std::string& key = "") const {
    return Http(port_, "DELETE", target, "", Auth(key));
  }
  static std::vector<std::pair<std::string, std::string>> Auth(const std::string& key) {
    if (key.empty()) return {};
    return {{"Authorization", "Bearer " + key}};
  }

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

// `lathe keys create`: the printed key ("" on failure).
inline std::string CreateKey(const std::string& data_dir, const std::string& tenant, const std::string& scope) {
  RunResult r = RunLathe(data_dir, {"keys", "create", "--tenant", tenant, "--scope", scope});
  if (r.exit_code != 0) return "";
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

}  // namespace lathe::test
