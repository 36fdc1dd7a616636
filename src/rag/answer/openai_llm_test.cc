#include "rag/answer/openai_llm.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "llm_standin_util.h"

namespace lathe::rag {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The stand-in quotes the first 8 words of chunk [1], across its lines.
const char kExpected[] =
    "According to the documentation, \"Lathe answers questions from your documents. It cites\" [1].";

class OpenAiLlmTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(standin_.port(), 0) << "stand-in did not start"; }

  OpenAiLlmOptions Options() {
    OpenAiLlmOptions options;
    options.base_url = standin_.base_url();
    options.model = "test-model";
    options.per_try_timeout = milliseconds(2000);
    options.max_tries = 3;
    options.backoff_base = milliseconds(10);
    options.backoff_max = milliseconds(40);
    options.breaker_failure_threshold = 5;
    options.breaker_cool_down = milliseconds(300);
    options.metrics = &metrics_;
    return options;
  }
  std::unique_ptr<OpenAiLlm> Make(OpenAiLlmOptions options) {
    Result<std::unique_ptr<OpenAiLlm>> llm = OpenAiLlm::Create(io_.get_executor(), std::move(options));
    EXPECT_TRUE(llm.ok()) << llm.status().ToString();
    return llm.ok() ? std::move(llm).value() : nullptr;
  }
  static LlmRequest Request(milliseconds budget = milliseconds(3000)) {
    LlmRequest request;
    request.messages = {{"system", "Answer from the sources.\n[1] Lathe answers questions from your documents.\n"
                                   "It cites them.\n\n[2] Something else."},
                        {"user", "What does Lathe do?"}};
    request.deadline = Clock::now() + budget;
    return request;
  }
  Result<std::string> Complete(OpenAiLlm& llm, const LlmRequest& request, DeltaSink sink = nullptr) {
    return test::RunAwaitable(io_, llm.Complete(request, std::move(sink)));
  }
  int ChatRequests() { return standin_.Stats()["chat_requests"].get<int>(); }

  test::StandIn standin_;
  asio::io_context io_;
  net::MetricsRegistry metrics_;
};

TEST_F(OpenAiLlmTest, ReturnsTheWholeAnswer) {
  auto llm = Make(Options());
  EXPECT_EQ(llm->name(), "openai:test-model");
  Result<std::string> text = Complete(*llm, Request());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, kExpected);
}

TEST_F(OpenAiLlmTest, StreamsPiecesInOrderThatJoinToTheAnswer) {
  auto llm = Make(Options());
  std::vector<std::string> pieces;
  DeltaSink sink = [&](std::string_view piece) -> asio::awaitable<bool> {
    pieces.emplace_back(piece);
    co_return true;
  };
  Result<std::string> text = Complete(*llm, Request(), sink);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, kExpected);
  ASSERT_GT(pieces.size(), 5u);
  EXPECT_EQ(pieces.front(), "According ");
  std::string joined;
  for (const std::string& p : pieces) joined += p;
  EXPECT_EQ(joined, kExpected);
}

TEST_F(OpenAiLlmTest, StopsWhenTheSinkGoesAway) {
  auto llm = Make(Options());
  int calls = 0;
  DeltaSink sink = [&](std::string_view) -> asio::awaitable<bool> { co_return ++calls < 2; };
  Result<std::string> text = Complete(*llm, Request(), sink);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*text, "According to ");
}

TEST_F(OpenAiLlmTest, RetriesAfter429AndSucceeds) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "status"}, {"status", 429}, {"fail_times", 2}});
  Result<std::string> text = Complete(*llm, Request());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, kExpected);
  EXPECT_EQ(ChatRequests(), 3);
  EXPECT_NE(metrics_.Render().find("lathe_llm_errors_total{backend=\"openai:test-model\",reason=\"status_429\"} 2"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(OpenAiLlmTest, HonoursRetryAfterWithinTheDeadline) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "status"}, {"status", 503}, {"retry_after", 1}, {"fail_times", 1}});
  auto start = Clock::now();
  Result<std::string> text = Complete(*llm, Request());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_GE(Clock::now() - start, milliseconds(1000));
  // A Retry-After beyond the deadline is not waited for.
  standin_.Control({{"mode", "status"}, {"status", 503}, {"retry_after", 5}, {"fail_times", 1}});
  start = Clock::now();
  text = Complete(*llm, Request(milliseconds(2000)));
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, milliseconds(500));
}

TEST_F(OpenAiLlmTest, ServerErrorsBeyondRetriesAreUnavailableWithinTheDeadline) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "status"}, {"status", 500}});
  auto start = Clock::now();
  Result<std::string> text = Complete(*llm, Request(milliseconds(2000)));
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable) << text.status().ToString();
  EXPECT_NE(text.status().message().find("after 3 tries"), std::string::npos) << text.status().message();
  EXPECT_NE(text.status().message().find("HTTP 500"), std::string::npos);
  EXPECT_NE(text.status().message().find("stand-in failure"), std::string::npos);  // the upstream's words
  EXPECT_EQ(ChatRequests(), 3);
}

TEST_F(OpenAiLlmTest, Persistent429IsResourceExhaustedAnd4xxIsNotRetried) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "status"}, {"status", 429}});
  EXPECT_EQ(Complete(*llm, Request()).status().code(), StatusCode::kResourceExhausted);
  standin_.Control({{"mode", "status"}, {"status", 400}, {"reset_stats", true}});
  Result<std::string> text = Complete(*llm, Request());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument) << text.status().ToString();
  EXPECT_EQ(ChatRequests(), 1);
}

TEST_F(OpenAiLlmTest, HangingUpstreamIsDeadlineExceededAtTheDeadline) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "hang"}});
  auto start = Clock::now();
  Result<std::string> text = Complete(*llm, Request(milliseconds(400)));
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(text.status().code(), StatusCode::kDeadlineExceeded) << text.status().ToString();
  EXPECT_GE(elapsed, milliseconds(390));
  EXPECT_LT(elapsed, milliseconds(400 + 250));
}

TEST_F(OpenAiLlmTest, PerTryTimeoutIsBoundedByTheDeadline) {
  OpenAiLlmOptions options = Options();
  options.per_try_timeout = milliseconds(200);
  auto llm = Make(options);
  standin_.Control({{"mode", "slow"}, {"delay_ms", 600}});
  auto start = Clock::now();
  Result<std::string> text = Complete(*llm, Request(milliseconds(3000)));
  EXPECT_EQ(text.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(500));  // the per-try limit, not the deadline
}

TEST_F(OpenAiLlmTest, ResetMidStreamAfterOutputIsUnavailableAndNotRetried) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "reset_mid_stream"}});
  std::string received;
  DeltaSink sink = [&](std::string_view piece) -> asio::awaitable<bool> {
    received += piece;
    co_return true;
  };
  Result<std::string> text = Complete(*llm, Request(), sink);
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable) << text.status().ToString();
  EXPECT_NE(text.status().message().find("not retried"), std::string::npos);
  EXPECT_EQ(received, "According to ");
  EXPECT_EQ(ChatRequests(), 1);
}

TEST_F(OpenAiLlmTest, ResetBeforeAnyOutputIsRetried) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "reset_mid_stream"}, {"fail_times", 1}});
  Result<std::string> text = Complete(*llm, Request());  // not streaming: reset before the answer
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(ChatRequests(), 2);
}

TEST_F(OpenAiLlmTest, CircuitOpensAfterFailuresRejectsFastAndClosesAfterCoolDown) {
  OpenAiLlmOptions options = Options();
  options.max_tries = 1;
  options.breaker_failure_threshold = 3;
  auto llm = Make(options);
  standin_.Control({{"mode", "status"}, {"status", 503}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Complete(*llm, Request()).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(llm->circuit_state(), net::CircuitBreaker::State::kOpen);
  EXPECT_NE(metrics_.Render().find("lathe_llm_circuit_open{backend=\"openai:test-model\"} 1"), std::string::npos);

  standin_.Control({{"mode", "ok"}});
  auto start = Clock::now();
  Result<std::string> rejected = Complete(*llm, Request());
  EXPECT_LT(Clock::now() - start, milliseconds(50));
  EXPECT_EQ(rejected.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(rejected.status().message().find("circuit open"), std::string::npos);
  EXPECT_EQ(ChatRequests(), 3);  // the rejected call never reached the upstream

  std::this_thread::sleep_for(milliseconds(320));
  Result<std::string> probe = Complete(*llm, Request());
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(llm->circuit_state(), net::CircuitBreaker::State::kClosed);
  EXPECT_EQ(ChatRequests(), 4);
  std::string rendered = metrics_.Render();
  EXPECT_NE(rendered.find("lathe_llm_circuit_open{backend=\"openai:test-model\"} 0"), std::string::npos);
  EXPECT_NE(rendered.find("reason=\"circuit_open\"} 1"), std::string::npos);
  EXPECT_NE(rendered.find("lathe_llm_request_seconds_count{backend=\"openai:test-model\",outcome=\"rejected\"} 1"),
            std::string::npos)
      << rendered;
}

TEST_F(OpenAiLlmTest, RespectsTheConcurrencyCap) {
  OpenAiLlmOptions options = Options();
  options.max_concurrent = 3;
  auto llm = Make(options);
  standin_.Control({{"mode", "slow"}, {"delay_ms", 100}});
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          Result<std::string> text = co_await llm->Complete(Request(), nullptr);
          if (text.ok()) ++ok;
        },
        asio::detached);
  }
  io_.restart();
  io_.run();
  EXPECT_EQ(ok, 10);
  nlohmann::json stats = standin_.Stats();
  EXPECT_EQ(stats["chat_requests"], 10);
  EXPECT_LE(stats["max_concurrent"].get<int>(), 3);
  EXPECT_EQ(stats["max_concurrent"].get<int>(), 3);
}

TEST_F(OpenAiLlmTest, BadResponsesNameWhatIsWrong) {
  auto llm = Make(Options());
  standin_.Control({{"mode", "bad_json"}});
  Result<std::string> text = Complete(*llm, Request());
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(text.status().message().find("not valid JSON"), std::string::npos) << text.status().message();

  standin_.Control({{"mode", "missing_fields"}});
  text = Complete(*llm, Request());
  EXPECT_NE(text.status().message().find("choices[0]"), std::string::npos) << text.status().message();

  DeltaSink sink = [](std::string_view) -> asio::awaitable<bool> { co_return true; };
  text = Complete(*llm, Request(), sink);
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(text.status().message().find("no 'choices'"), std::string::npos) << text.status().message();
  standin_.Control({{"mode", "bad_json"}});
  text = Complete(*llm, Request(), sink);
  EXPECT_NE(text.status().message().find("not valid JSON"), std::string::npos) << text.status().message();
}

TEST_F(OpenAiLlmTest, ConnectionRefusedIsUnavailable) {
  OpenAiLlmOptions options = Options();
  asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
  options.base_url = "http://127.0.0.1:" + std::to_string(probe.local_endpoint().port()) + "/v1";
  probe.close();
  auto llm = Make(options);
  Result<std::string> text = Complete(*llm, Request());
  EXPECT_EQ(text.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(text.status().message().find("connecting to"), std::string::npos) << text.status().message();
  EXPECT_NE(metrics_.Render().find("reason=\"connect\"} 3"), std::string::npos) << metrics_.Render();
}

TEST_F(OpenAiLlmTest, CreateRejectsBadOptions) {
  OpenAiLlmOptions options = Options();
  options.base_url = "localhost:9000/v1";
  EXPECT_EQ(OpenAiLlm::Create(io_.get_executor(), options).status().code(), StatusCode::kInvalidArgument);
  options = Options();
  options.model = "";
  EXPECT_EQ(OpenAiLlm::Create(io_.get_executor(), options).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenAiLlmAuth, SendsTheApiKeyAsBearerToken) {
  test::StandIn standin({"--api-key", "sk-test"});
  ASSERT_GT(standin.port(), 0);
  asio::io_context io;
  OpenAiLlmOptions options;
  options.base_url = standin.base_url();
  options.api_key = "sk-test";
  auto llm = OpenAiLlm::Create(io.get_executor(), options);
  ASSERT_TRUE(llm.ok());
  LlmRequest request;
  request.messages = {{"user", "hi"}};
  request.deadline = Clock::now() + milliseconds(2000);
  EXPECT_TRUE(test::RunAwaitable(io, (*llm)->Complete(request, nullptr)).ok());
  options.api_key = "wrong";
  auto wrong = OpenAiLlm::Create(io.get_executor(), options);
  ASSERT_TRUE(wrong.ok());
  Result<std::string> text = test::RunAwaitable(io, (*wrong)->Complete(request, nullptr));
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("HTTP 401"), std::string::npos) << text.status().message();
}

}  // namespace
}  // namespace lathe::rag
