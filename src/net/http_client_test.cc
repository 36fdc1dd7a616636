#include "net/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "llm_standin_util.h"

namespace lathe::net {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(Url, ParsesSchemeHostPortAndTarget) {
  Result<Url> url = Url::Parse("http://127.0.0.1:9000/v1/chat/completions?x=1");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "9000");
  EXPECT_EQ(url->target, "/v1/chat/completions?x=1");
  Result<Url> https = Url::Parse("HTTPS://api.openai.com");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->scheme, "https");
  EXPECT_EQ(https->port, "443");
  EXPECT_EQ(https->target, "/");
  Result<Url> v6 = Url::Parse("http://[::1]:8080/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "8080");
}

TEST(Url, RejectsBadUrlsNamingTheProblem) {
  EXPECT_NE(Url::Parse("127.0.0.1:9000").status().message().find("no scheme"), std::string::npos);
  EXPECT_NE(Url::Parse("ftp://x/").status().message().find("scheme 'ftp'"), std::string::npos);
  EXPECT_NE(Url::Parse("http:///v1").status().message().find("no host"), std::string::npos);
  EXPECT_NE(Url::Parse("http://h:99999/").status().message().find("invalid port"), std::string::npos);
  EXPECT_EQ(Url::Parse("http://h:abc/").status().code(), StatusCode::kInvalidArgument);
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(standin_.port(), 0) << "stand-in did not start";
    standin_.Reset();
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(standin_.port()) + path; }
  ClientRequest Chat(bool stream, milliseconds timeout = milliseconds(2000)) const {
    ClientRequest request;
    request.url = Url("/v1/chat/completions");
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = nlohmann::json{{"model", "m"},
                                  {"stream", stream},
                                  {"messages", {{{"role", "user"}, {"content", "[1] alpha beta gamma"}}}}}
                       .dump();
    request.timeout = timeout;
    return request;
  }

  test::StandIn standin_;
  asio::io_context io_;
  HttpClient client_{io_.get_executor()};
};

TEST_F(HttpClientTest, SendsAndReadsAWholeResponse) {
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Send(Chat(false)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(response->body);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "According to the documentation, \"alpha beta gamma\" [1].");

  ClientRequest get;
  get.method = "GET";
  get.url = Url("/v1/models");
  Result<ClientResponse> models = test::RunAwaitable(io_, client_.Send(get));
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(nlohmann::json::parse(models->body)["data"][0]["id"], "standin");
}

// Plain-HTTP calls reuse one keep-alive connection; a stream stopped before
// its end is not put back. (Each Stats call opens a connection of its own.)
TEST_F(HttpClientTest, KeepAliveConnectionsAreReused) {
  int64_t before = standin_.Stats()["connections"].get<int64_t>();
  for (int i = 0; i < 3; ++i) {
    Result<ClientResponse> r = test::RunAwaitable(io_, client_.Send(Chat(false)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(standin_.Stats()["connections"].get<int64_t>() - before, 2);  // one for the 3 calls, one for Stats

  before = standin_.Stats()["connections"].get<int64_t>();
  BodySink stop = [](std::string_view) -> asio::awaitable<bool> { co_return false; };
  ASSERT_TRUE(test::RunAwaitable(io_, client_.Stream(Chat(true), stop)).ok());
  ASSERT_TRUE(test::RunAwaitable(io_, client_.Send(Chat(false))).ok());
  // The stream reused the pooled connection and dropped it; the call after
  // it needed a new one.
  EXPECT_EQ(standin_.Stats()["connections"].get<int64_t>() - before, 2);
}

TEST_F(HttpClientTest, StreamsChunkedBodyInPiecesAsTheyArrive) {
  standin_.Control({{"mode", "ok"}, {"piece_delay_ms", 20}});
  std::vector<std::string> pieces;
  BodySink sink = [&](std::string_view piece) -> asio::awaitable<bool> {
    pieces.emplace_back(piece);
    co_return true;
  };
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Stream(Chat(true), sink));
  standin_.Control({{"piece_delay_ms", 0}});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_GT(pieces.size(), 3u);  // pieces 20 ms apart arrive separately
  std::string all;
  for (const std::string& p : pieces) all += p;
  EXPECT_NE(all.find("\"alpha \""), std::string::npos);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);
}

TEST_F(HttpClientTest, StreamStopsWhenTheSinkSaysSo) {
  int calls = 0;
  BodySink sink = [&](std::string_view) -> asio::awaitable<bool> {
    ++calls;
    co_return false;
  };
  standin_.Control({{"mode", "ok"}, {"piece_delay_ms", 50}});
  auto start = Clock::now();
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Stream(Chat(true), sink));
  standin_.Control({{"piece_delay_ms", 0}});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_LT(Clock::now() - start, milliseconds(200));
}

TEST_F(HttpClientTest, StreamCollectsAnErrorBodyInsteadOfStreamingIt) {
  standin_.Control({{"mode", "status"}, {"status", 503}});
  int calls = 0;
  BodySink sink = [&](std::string_view) -> asio::awaitable<bool> {
    ++calls;
    co_return true;
  };
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Stream(Chat(true), sink));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(calls, 0);
  EXPECT_NE(response->body.find("stand-in failure"), std::string::npos);
}

TEST_F(HttpClientTest, HangingServerTimesOut) {
  standin_.Control({{"mode", "hang"}});
  auto start = Clock::now();
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Send(Chat(false, milliseconds(300))));
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded) << response.status().ToString();
  EXPECT_GE(elapsed, milliseconds(290));
  EXPECT_LT(elapsed, milliseconds(800));
}

TEST_F(HttpClientTest, AbsoluteDeadlineBoundsAStream) {
  standin_.Control({{"mode", "ok"}, {"piece_delay_ms", 100}});
  ClientRequest request = Chat(true, milliseconds(1000));  // each gap is well under this
  request.deadline = Clock::now() + milliseconds(250);
  BodySink sink = [](std::string_view) -> asio::awaitable<bool> { co_return true; };
  auto start = Clock::now();
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Stream(request, sink));
  standin_.Control({{"piece_delay_ms", 0}});
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded) << response.status().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(600));
}

TEST_F(HttpClientTest, ResetMidStreamIsUnavailableAfterPartialData) {
  standin_.Control({{"mode", "reset_mid_stream"}});
  std::string received;
  BodySink sink = [&](std::string_view piece) -> asio::awaitable<bool> {
    received += piece;
    co_return true;
  };
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Stream(Chat(true), sink));
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  EXPECT_FALSE(IsConnectFailure(response.status()));
  EXPECT_NE(received.find("According"), std::string::npos);
}

TEST_F(HttpClientTest, RefusedConnectionIsUnavailableNamingTheHost) {
  // A port that was free a moment ago: nothing listens there.
  asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::string port = std::to_string(probe.local_endpoint().port());
  probe.close();
  ClientRequest request;
  request.url = "http://127.0.0.1:" + port + "/v1/models";
  request.method = "GET";
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Send(request));
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(IsConnectFailure(response.status())) << response.status().ToString();
  EXPECT_NE(response.status().message().find("127.0.0.1:" + port), std::string::npos);
}

TEST_F(HttpClientTest, TlsToAPlainServerFailsTheHandshake) {
  ClientRequest request;
  request.method = "GET";
  request.url = "https://127.0.0.1:" + std::to_string(standin_.port()) + "/v1/models";
  request.timeout = milliseconds(1000);
  Result<ClientResponse> response = test::RunAwaitable(io_, client_.Send(request));
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  EXPECT_NE(response.status().message().find("TLS handshake"), std::string::npos);
}

TEST_F(HttpClientTest, BadUrlAndMethodAreInvalidArgument) {
  ClientRequest request;
  request.url = "nonsense";
  EXPECT_EQ(test::RunAwaitable(io_, client_.Send(request)).status().code(), StatusCode::kInvalidArgument);
  request.url = Url("/v1/models");
  request.method = "FETCH";
  EXPECT_EQ(test::RunAwaitable(io_, client_.Send(request)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lathe::net
