// `lathe serve` with the openai answer backend and the remote embedder, both
// pointed at the LLM stand-in (tests/llm_standin.cc, the OpenAI protocol over
// loopback): grounded answers with verified citations, abstention without an
// LLM call, each upstream failure mapped to its documented status within the
// deadline, retries, the circuit breaker opening and closing, and a SIGTERM
// that drains requests in flight.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "llm_standin_util.h"
#include "serve_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string SourceDir() { return LATHE_SOURCE_DIR; }

std::string Yaml(const StandIn& standin, const std::string& llm_extra) {
  return "answer:\n  backend: openai\nllm:\n  base_url: " + standin.base_url() +
         "\n  model: standin\n  backoff_base_ms: 20\n  backoff_max_ms: 100\n" + llm_extra +
         "embeddings:\n  backend: openai\n  base_url: " + standin.base_url() + "\n  batch_size: 32\n";
}

struct Fixture {
  TempDir dir;
  StandIn standin;
  std::string key;
  std::unique_ptr<Server> server;
  explicit Fixture(const std::string& llm_extra) {
    RunResult r = RunLathe(dir.path(), {"ingest", SourceDir() + "/examples/support-kb/accounts-and-login", "-c", "kb"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    key = CreateKey(dir.path(), "default", "query");
    server = std::make_unique<Server>(dir.path(), Yaml(standin, llm_extra));
  }
  HttpResult Chat(const std::string& message, bool stream = false) {
    return server->Post("/v1/chat", {{"collection", "kb"}, {"message", message}, {"stream", stream}}, key);
  }
  int64_t ChatRequests() { return standin.Stats()["chat_requests"].get<int64_t>(); }
};

const char* kQuestion = "How do I reset my password?";

TEST(ServeLlm, GroundedAnswerWithVerifiedCitationsAndRemoteEmbeddings) {
  Fixture f("  timeout_ms: 5000\n");
  ASSERT_GT(f.standin.port(), 0);
  ASSERT_GT(f.server->port(), 0);
  // The index was embedded by the stand-in's /v1/embeddings.
  EXPECT_GT(f.standin.Stats()["embedding_requests"].get<int64_t>(), 0);
  HttpResult s = f.server->Post("/v1/search", {{"collection", "kb"}, {"query", "reset password"},
                                               {"retriever", "vector"}}, f.key);
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_FALSE(s.Json()["hits"].empty());
  EXPECT_GT(s.Json()["hits"][0]["vector"]["rank"].get<int>(), 0);

  // The stand-in's grounded echo quotes passage 1 and cites it.
  f.standin.Reset();
  HttpResult ok = f.Chat(kQuestion);
  ASSERT_EQ(ok.status, 200) << ok.body;
  json a = ok.Json();
  EXPECT_FALSE(a["abstained"].get<bool>());
  ASSERT_FALSE(a["citations"].empty()) << a.dump(1);
  EXPECT_EQ(a["removed_citations"], 0);
  EXPECT_EQ(f.ChatRequests(), 1);

  // A citation of a passage that was never given is removed and counted.
  f.standin.Control({{"mode", "ok"}, {"reply", "Use the reset link on the sign-in page [1]. See also [9]."}});
  json b = f.Chat(kQuestion).Json();
  EXPECT_EQ(b["removed_citations"], 1) << b.dump(1);
  EXPECT_EQ(b["answer"].get<std::string>().find("[9]"), std::string::npos);
  EXPECT_NE(f.server->Get("/metrics").body.find("lathe_citations_removed_total{backend=\"openai\"} 1"),
            std::string::npos);

  // Streamed, the invented marker never reaches the client either.
  HttpResult streamed = f.Chat(kQuestion, true);
  ASSERT_EQ(streamed.status, 200);
  std::string deltas;
  for (const auto& e : SseEvents(streamed.body)) {
    if (e.is_object() && e.value("type", "") == "delta") deltas += e["text"].get<std::string>();
  }
  EXPECT_NE(deltas.find("[1]"), std::string::npos) << deltas;
  EXPECT_EQ(deltas.find("[9]"), std::string::npos) << deltas;

  // Off-topic: handed off without calling the model.
  f.standin.Control({{"mode", "ok"}, {"reply", ""}, {"reset_stats", true}});
  json off = f.Chat("How do I bake sourdough bread?").Json();
  EXPECT_TRUE(off["abstained"].get<bool>());
  EXPECT_EQ(f.ChatRequests(), 0);

  // Streaming: the model's pieces as delta events, then the verified answer.
  HttpResult st = f.Chat(kQuestion, true);
  ASSERT_EQ(st.status, 200);
  auto events = SseEvents(st.body);
  ASSERT_GE(events.size(), 3u) << st.body;
  EXPECT_EQ(events.front()["type"], "delta");
  EXPECT_EQ(events.back()["type"], "done");
  EXPECT_FALSE(events.back()["citations"].empty());
}

// With an LLM configured, a follow-up is rewritten by the LLM (one extra
// call) and a self-contained question is not.
TEST(ServeLlm, FollowUpIsRewrittenByTheModel) {
  Fixture f("  timeout_ms: 5000\n");
  ASSERT_GT(f.server->port(), 0);
  HttpResult first = f.Chat(kQuestion);
  ASSERT_EQ(first.status, 200) << first.body;
  std::string id = first.Json()["conversation_id"];
  const std::string standalone = "How do I reset my password in the mobile app?";
  f.standin.Control({{"mode", "ok"}, {"reply", standalone}, {"reset_stats", true}});
  HttpResult follow = f.server->Post(
      "/v1/chat", {{"collection", "kb"}, {"message", "what about on the mobile app?"}, {"conversation_id", id}}, f.key);
  ASSERT_EQ(follow.status, 200) << follow.body;
  EXPECT_TRUE(follow.Json()["rewritten"].get<bool>());
  EXPECT_EQ(follow.Json()["query"], standalone);
  EXPECT_EQ(f.ChatRequests(), 2);  // the rewrite, then the answer
  EXPECT_NE(f.server->Get("/metrics").body.find("lathe_query_rewrites_total{method=\"llm\"} 1"), std::string::npos);

  f.standin.Control({{"mode", "ok"}, {"reply", ""}, {"reset_stats", true}});
  HttpResult self = f.server->Post(
      "/v1/chat", {{"collection", "kb"}, {"message", "How do I turn on two-factor authentication?"},
                   {"conversation_id", id}}, f.key);
  ASSERT_EQ(self.status, 200) << self.body;
  EXPECT_FALSE(self.Json()["rewritten"].get<bool>());
  EXPECT_EQ(f.ChatRequests(), 1);
}

// Each upstream behaviour gives the documented status, within the deadline.
TEST(ServeLlm, UpstreamFailureTable) {
  // 3 tries of at most 800 ms within a 2.5 s deadline; the breaker never opens here.
  Fixture f("  timeout_ms: 2500\n  per_try_timeout_ms: 800\n  max_tries: 3\n  breaker_failures: 1000\n");
  ASSERT_GT(f.server->port(), 0);
  struct Row {
    json behaviour;
    int status;
    const char* code;   // error.code, "" when status is 200
    int64_t requests;   // upstream calls made (-1: do not check)
    double max_ms;      // the answer arrives within this
  };
  const std::vector<Row> rows = {
      {{{"mode", "status"}, {"status", 429}}, 503, "upstream_rate_limited", 3, 2500 + 1500},
      {{{"mode", "status"}, {"status", 500}}, 503, "unavailable", 3, 2500 + 1500},
      {{{"mode", "status"}, {"status", 503}, {"fail_times", 2}}, 200, "", 3, 2500 + 1500},
      {{{"mode", "status"}, {"status", 401}}, 500, "internal", 1, 2500 + 1500},
      {{{"mode", "hang"}}, 504, "deadline_exceeded", -1, 2500 + 1500},
      {{{"mode", "slow"}, {"delay_ms", 300}}, 200, "", 1, 2500 + 1500},
      {{{"mode", "bad_json"}}, 503, "unavailable", -1, 2500 + 1500},
      {{{"mode", "missing_fields"}}, 503, "unavailable", -1, 2500 + 1500},
      {{{"mode", "reset_mid_stream"}, {"fail_times", 1}}, 200, "", 2, 2500 + 1500},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.behaviour.dump());
    f.standin.Reset();
    json behaviour = row.behaviour;
    behaviour["reset_stats"] = true;
    f.standin.Control(behaviour);
    HttpResult r = f.Chat(kQuestion);
    EXPECT_EQ(r.status, row.status) << r.body;
    EXPECT_LT(r.ms, row.max_ms);
    if (row.status != 200) {
      EXPECT_EQ(r.Json()["error"]["code"], row.code) << r.body;
      if (row.status == 503) {
        EXPECT_EQ(r.Header("retry-after"), "1");
      }
    }
    if (row.requests >= 0) {
      EXPECT_EQ(f.ChatRequests(), row.requests);
    }
  }

  // A stream that breaks after output has begun ends with an error event.
  f.standin.Reset();
  f.standin.Control({{"mode", "reset_mid_stream"}});
  HttpResult broken = f.Chat(kQuestion, true);
  ASSERT_EQ(broken.status, 200) << broken.body;
  auto events = SseEvents(broken.body);
  ASSERT_GE(events.size(), 2u) << broken.body;
  EXPECT_EQ(events.front()["type"], "delta");
  EXPECT_EQ(events.back()["type"], "error");
  EXPECT_EQ(events.back()["error"]["type"], "server_error");
  f.standin.Reset();
  EXPECT_EQ(f.Chat(kQuestion).status, 200);
}

TEST(ServeLlm, CircuitOpensAndCloses) {
  Fixture f("  max_tries: 1\n  breaker_failures: 2\n  breaker_cooldown_ms: 1500\n");
  ASSERT_GT(f.server->port(), 0);
  f.standin.Control({{"mode", "status"}, {"status", 500}, {"reset_stats", true}});
  EXPECT_EQ(f.Chat(kQuestion).status, 503);
  EXPECT_EQ(f.Chat(kQuestion).status, 503);
  EXPECT_EQ(f.ChatRequests(), 2);
  // Open: refused at once, without calling the upstream.
  HttpResult open = f.Chat(kQuestion);
  EXPECT_EQ(open.status, 503);
  EXPECT_NE(open.Json()["error"]["message"].get<std::string>().find("circuit open"), std::string::npos) << open.body;
  EXPECT_EQ(f.ChatRequests(), 2);
  EXPECT_NE(f.server->Get("/metrics").body.find("lathe_llm_circuit_open{backend=\"openai:standin\"} 1"),
            std::string::npos);
  // After the cool-down a trial call goes through; its success closes the circuit.
  f.standin.Control({{"mode", "ok"}});
  std::this_thread::sleep_for(milliseconds(1700));
  EXPECT_EQ(f.Chat(kQuestion).status, 200);
  EXPECT_EQ(f.Chat(kQuestion).status, 200);
  EXPECT_EQ(f.ChatRequests(), 4);
  EXPECT_NE(f.server->Get("/metrics").body.find("lathe_llm_circuit_open{backend=\"openai:standin\"} 0"),
            std::string::npos);
}

// SIGTERM: stop accepting, finish the requests in flight, exit 0.
TEST(ServeLlm, SigtermDrainsRequestsInFlight) {
  Fixture f("  timeout_ms: 10000\n  per_try_timeout_ms: 10000\n");
  ASSERT_GT(f.server->port(), 0);
  f.standin.Control({{"mode", "slow"}, {"delay_ms", 1500}, {"reset_stats", true}});
  constexpr int kRequests = 4;
  std::vector<HttpResult> results(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] { results[i] = f.Chat(kQuestion); });
  }
  // The query embeddings (slow too) come first; wait until all four chats
  // are with the model.
  auto waiting_on_model = [&] {
    json stats = f.standin.Stats();
    return stats["chat_requests"].get<int64_t>() == kRequests && stats["in_flight"].get<int64_t>() == kRequests;
  };
  bool all_in_flight = false;
  for (int i = 0; i < 250 && !(all_in_flight = waiting_on_model()); ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_TRUE(all_in_flight) << f.standin.Stats().dump();
  f.server->child()->Signal(SIGTERM);
  std::this_thread::sleep_for(milliseconds(300));
  HttpResult late = f.server->Get("/healthz");
  EXPECT_EQ(late.status, 0) << "a new connection was accepted while draining";
  for (auto& t : clients) t.join();
  for (const auto& r : results) {
    EXPECT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_FALSE(r.Json().value("answer", "").empty());
  }
  EXPECT_EQ(f.server->child()->Wait(), 0);
}

}  // namespace
}  // namespace lathe::test
