// `lathe serve` as a real process over loopback, extractive backend: ingest ->
// chat -> citations that point at the right chunk, abstention, streaming, the
// OpenAI façade through curl, conversations, uploads, tenant isolation, CORS,
// limits, the fan-out of a chat's independent waits, and tables of bad
// requests and bad configurations.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "serve_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;

std::string SourceDir() { return LATHE_SOURCE_DIR; }

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

constexpr const char* kHandoff = "Let me connect you with a person.";

// One server over the sample knowledge base (tenant acme) and two tiny
// collections with near-duplicate documents (tenants acme and globex).
class ServeApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string d = dir_->path();
    RunResult r = RunLathe(d, {"ingest", SourceDir() + "/examples/support-kb", "-c", "support", "--tenant", "acme"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    WriteFile(d + "/acme-notes/refund.md",
              "# Refunds\n\nRefunds are issued within five business days to the original card. "
              "Quote reference ACME-7731 when you write to billing.\n");
    WriteFile(d + "/globex-notes/refund.md",
              "# Refunds\n\nRefunds are issued within five business days to the original card. "
              "Quote reference GLOBEX-4410 when you write to billing.\n");
    r = RunLathe(d, {"ingest", d + "/acme-notes", "-c", "acme-notes", "--tenant", "acme"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunLathe(d, {"ingest", d + "/globex-notes", "-c", "globex-notes", "--tenant", "globex"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Keys are created before the server starts (it reloads keys it does not
    // know at most once a second).
    acme_ = new std::string(CreateKey(d, "acme", "query"));
    acme_admin_ = new std::string(CreateKey(d, "acme", "admin"));
    globex_ = new std::string(CreateKey(d, "globex", "query"));
    ASSERT_FALSE(acme_->empty());
    server_ = new Server(d, std::string("answer:\n  handoff_message: \"") + kHandoff +
                                "\"\nserver:\n  cors_origins: [\"https://help.example.com\"]\n");
    ASSERT_GT(server_->port(), 0) << "lathe serve did not become ready";
  }
  static void TearDownTestSuite() {
    delete server_;
    delete acme_;
    delete acme_admin_;
    delete globex_;
    delete dir_;
  }

  static json Chat(const std::string& message, const std::string& conversation = "") {
    json body = {{"collection", "support"}, {"message", message}};
    if (!conversation.empty()) body["conversation_id"] = conversation;
    HttpResult r = server_->Post("/v1/chat", body, *acme_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  // The text of a chunk, found by searching for query.
  static std::string ChunkText(const std::string& query, int64_t chunk_id) {
    json r = server_->Post("/v1/search", {{"collection", "support"}, {"query", query}, {"k", 50}}, *acme_).Json();
    for (const auto& h : r["hits"]) {
      if (h["chunk_id"] == chunk_id) return h["text"];
    }
    return "";
  }

  static TempDir* dir_;
  static Server* server_;
  static std::string* acme_;
  static std::string* acme_admin_;
  static std::string* globex_;
};
TempDir* ServeApi::dir_ = nullptr;
Server* ServeApi::server_ = nullptr;
std::string* ServeApi::acme_ = nullptr;
std::string* ServeApi::acme_admin_ = nullptr;
std::string* ServeApi::globex_ = nullptr;

// The web UI asks whose key it holds; never the secret.
TEST_F(ServeApi, WhoamiNamesTheKeysTenantAndScope) {
  HttpResult q = server_->Get("/v1/whoami", *acme_);
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.Json()["tenant"], "acme");
  EXPECT_EQ(q.Json()["scope"], "query");
  EXPECT_EQ(acme_->find(q.Json()["key_id"].get<std::string>()), 3u) << "lk_<key id>_<secret>";
  EXPECT_EQ(q.body.find(acme_->substr(acme_->rfind('_') + 1)), std::string::npos) << "the secret is not echoed";
  EXPECT_EQ(server_->Get("/v1/whoami", *acme_admin_).Json()["scope"], "admin");
  EXPECT_EQ(server_->Get("/v1/whoami", *globex_).Json()["tenant"], "globex");
  EXPECT_EQ(server_->Get("/v1/whoami").status, 401);
  EXPECT_EQ(server_->Get("/v1/whoami", "lk_nope_nope").status, 401);
}

TEST_F(ServeApi, HealthReadinessAndMetrics) {
  EXPECT_EQ(server_->Get("/healthz").status, 200);
  EXPECT_EQ(server_->Get("/readyz").status, 200);
  Chat("How do I reset my password?");
  // A request is counted once its response is written, which may be just
  // after the client has read it: look again for a moment.
  HttpResult m;
  for (int i = 0; i < 100; ++i) {
    m = server_->Get("/metrics");
    if (m.body.find("lathe_http_requests_total{route=\"/v1/chat\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("lathe_http_requests_total{route=\"/v1/chat\",method=\"POST\",status=\"200\"}"),
            std::string::npos);
  EXPECT_NE(m.body.find("lathe_http_request_duration_seconds_bucket{route=\"/v1/chat\""), std::string::npos);
  EXPECT_NE(m.body.find("lathe_http_requests_in_flight"), std::string::npos);
  EXPECT_NE(m.body.find("lathe_index_chunks{collection=\"support\"}"), std::string::npos);
  EXPECT_NE(m.body.find("lathe_answers_total{backend=\"extractive\",outcome=\"answered\"}"), std::string::npos);
}

// Each answer cites a judged article, every quote occurs in the chunk it
// names, and every citation's [n] marker is in the answer.
TEST_F(ServeApi, ChatCitesTheRightChunk) {
  const std::vector<std::pair<std::string, std::set<std::string>>> cases = {
      {"forgot my password", {"accounts-and-login/reset-your-password.md"}},
      {"How do I get my money back if I cancel my yearly plan?",
       {"billing-and-refunds/refunds-for-annual-plans.md", "billing-and-refunds/refund-policy.md"}},
  };
  for (const auto& [question, judged] : cases) {
    json r = Chat(question);
    ASSERT_FALSE(r["abstained"].get<bool>()) << question;
    ASSERT_FALSE(r["citations"].empty()) << question;
    bool cites_judged = false;
    for (const auto& c : r["citations"]) cites_judged = cites_judged || judged.count(c["doc_id"].get<std::string>());
    EXPECT_TRUE(cites_judged) << question << ": " << r.dump(1);
    for (const auto& c : r["citations"]) {
      std::string text = ChunkText(r["query"], c["chunk_id"]);
      ASSERT_FALSE(text.empty()) << "cited chunk " << c["chunk_id"] << " is not among the retrieved ones";
      EXPECT_NE(text.find(c["quote"].get<std::string>()), std::string::npos) << c.dump();
      EXPECT_NE(r["answer"].get<std::string>().find("[" + std::to_string(c["n"].get<int>()) + "]"),
                std::string::npos);
    }
    EXPECT_GE(r["timings_ms"]["total"].get<double>(), r["timings_ms"]["retrieve"].get<double>());
    EXPECT_TRUE(r["conversation_id"].is_string());
  }
}

TEST_F(ServeApi, AbstainsOffTopic) {
  // Clearly foreign questions always hand off, with no citations.
  for (const char* q : {"How do I bake sourdough bread?", "What's the capital of Peru?"}) {
    json r = Chat(q);
    EXPECT_TRUE(r["abstained"].get<bool>()) << q << " evidence " << r["evidence"];
    EXPECT_EQ(r["answer"], kHandoff);
    EXPECT_TRUE(r["citations"].empty());
  }
  // The calibration (docs/answering.md) hands off 18 of the 20 sample
  // off-topic questions; fewer than 16 means it has drifted.
  int handed_off = 0;
  auto questions = Lines(SourceDir() + "/examples/support-kb-eval/off-topic.txt");
  ASSERT_EQ(questions.size(), 20u);
  for (const auto& q : questions) handed_off += Chat(q)["abstained"].get<bool>() ? 1 : 0;
  EXPECT_GE(handed_off, 16);
}

// What a citation link opens: the chunk it names, holding the quote; only in
// the tenant's own collection.
TEST_F(ServeApi, CitedChunkCanBeFetched) {
  json r = Chat("forgot my password");
  ASSERT_FALSE(r["citations"].empty()) << r.dump(1);
  const json& c = r["citations"][0];
  const std::string path = "/v1/collections/support/chunks/" + std::to_string(c["chunk_id"].get<int64_t>());
  HttpResult got = server_->Get(path, *acme_);
  ASSERT_EQ(got.status, 200) << got.body;
  json chunk = got.Json();
  EXPECT_EQ(chunk["chunk_id"], c["chunk_id"]);
  EXPECT_EQ(chunk["doc_id"], c["doc_id"]);
  EXPECT_EQ(chunk["collection"], "support");
  EXPECT_FALSE(chunk["document_title"].get<std::string>().empty());
  EXPECT_NE(chunk["text"].get<std::string>().find(c["quote"].get<std::string>()), std::string::npos) << chunk.dump(1);
  // Another tenant, another collection of the same tenant, no key, bad ids.
  EXPECT_EQ(server_->Get(path, *globex_).status, 404);
  EXPECT_EQ(server_->Get(path).status, 401);
  EXPECT_EQ(server_->Get("/v1/collections/acme-notes/chunks/" + std::to_string(c["chunk_id"].get<int64_t>()), *acme_)
                .status,
            404);
  EXPECT_EQ(server_->Get("/v1/collections/support/chunks/999999999", *acme_).status, 404);
  for (const char* bad : {"abc", "-1", "1.5", "12345678901234567890"}) {
    HttpResult b = server_->Get(std::string("/v1/collections/support/chunks/") + bad, *acme_);
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_EQ(b.Json()["error"]["code"], "invalid_chunk_id") << b.body;
  }
}

// "Talk to a person" after the assistant abstained: recorded, listed for
// the tenant's admins, refused for unknown or foreign conversations.
TEST_F(ServeApi, HandoffIsRecordedForTheTenant) {
  json r = Chat("What's the capital of Peru?");
  ASSERT_TRUE(r["abstained"].get<bool>());
  const std::string conv = r["conversation_id"];
  HttpResult h = server_->Post("/v1/conversations/" + conv + "/handoff", {{"note", "please call me"}}, *acme_);
  ASSERT_EQ(h.status, 202) << h.body;
  json handoff = h.Json();
  EXPECT_EQ(handoff["conversation_id"], conv);
  EXPECT_EQ(handoff["status"], "requested");
  const std::string id = handoff["handoff_id"];
  // Without a body too.
  HttpResult bare = Http(server_->port(), "POST", "/v1/conversations/" + conv + "/handoff", "", Server::Auth(*acme_));
  EXPECT_EQ(bare.status, 202) << bare.body;
  HttpResult list = server_->Get("/v1/handoffs", *acme_admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  bool found = false;
  const json listed = list.Json();
  for (const auto& x : listed["data"]) found = found || (x["handoff_id"] == id && x["note"] == "please call me");
  EXPECT_TRUE(found) << list.body;
  EXPECT_EQ(server_->Get("/v1/handoffs", *acme_).status, 403);
  EXPECT_EQ(server_->Get("/v1/handoffs", *globex_).status, 403);
  // Bad requests.
  EXPECT_EQ(server_->Post("/v1/conversations/" + conv + "/handoff", {{"note", 5}}, *acme_).status, 400);
  EXPECT_EQ(Http(server_->port(), "POST", "/v1/conversations/" + conv + "/handoff", "{not json", Server::Auth(*acme_))
                .status,
            400);
  EXPECT_EQ(server_->Post("/v1/conversations/" + conv + "/handoff", json::object(), *globex_).status, 404);
  EXPECT_EQ(server_->Post("/v1/conversations/conv_unknown/handoff", json::object(), *acme_).status, 404);
  EXPECT_EQ(server_->Post("/v1/conversations/" + conv + "/handoff", json::object()).status, 401);
}

// The web UI is built in: / is its page, /ui/ its files, with validators
// and a content security policy; nothing outside the UI's files is served.
TEST_F(ServeApi, ServesTheEmbeddedWebUi) {
  HttpResult index = server_->Get("/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  EXPECT_NE(index.Header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(index.Header("x-content-type-options"), "nosniff");
  HttpResult app = server_->Get("/ui/js/app.js");
  ASSERT_EQ(app.status, 200);
  EXPECT_EQ(app.Header("content-type"), "text/javascript; charset=utf-8");
  const std::string etag = app.Header("etag");
  ASSERT_FALSE(etag.empty());
  HttpResult again = Http(server_->port(), "GET", "/ui/js/app.js", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(server_->Get("/ui/index.html").status, 200);
  EXPECT_EQ(server_->Get("/ui/widget.js").status, 200);
  for (const char* bad : {"/ui/missing.js", "/ui/../CMakeLists.txt", "/ui/%2e%2e/CMakeLists.txt", "/ui/js/../index.html",
                          "/ui/.hidden.js", "/ui/js", "/ui/", "/index.htm"}) {
    EXPECT_EQ(server_->Get(bad).status, 404) << bad;
  }
}

TEST_F(ServeApi, StreamsChatAsServerSentEvents) {
  HttpResult r = Http(server_->port(), "POST", "/v1/chat",
                      json{{"collection", "support"}, {"message", "How do refunds work?"}, {"stream", true}}.dump(),
                      Server::Auth(*acme_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "text/event-stream; charset=utf-8");
  auto events = SseEvents(r.body);
  ASSERT_GE(events.size(), 2u);
  std::string streamed;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i]["type"], "delta");
    streamed += events[i]["text"].get<std::string>();
  }
  const json& done = events.back();
  ASSERT_EQ(done["type"], "done");
  while (!streamed.empty() && streamed.back() == ' ') streamed.pop_back();
  EXPECT_EQ(streamed, done["answer"]);
  EXPECT_FALSE(done["citations"].empty());
  EXPECT_TRUE(done["conversation_id"].is_string());
}

TEST_F(ServeApi, ConversationFollowUpIsRewrittenAndStored) {
  json first = Chat("How do I reset my password?");
  std::string id = first["conversation_id"];
  json second = Chat("what about on the mobile app?", id);
  EXPECT_EQ(second["conversation_id"], id);
  EXPECT_TRUE(second["rewritten"].get<bool>());
  EXPECT_NE(second["query"].get<std::string>().find("password"), std::string::npos) << second["query"];
  // A self-contained question is not rewritten.
  json third = Chat("Which payment methods can customers use at checkout?", id);
  EXPECT_FALSE(third["rewritten"].get<bool>());

  HttpResult conv = server_->Get("/v1/conversations/" + id, *acme_);
  ASSERT_EQ(conv.status, 200) << conv.body;
  json turns = conv.Json()["turns"];
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0]["message"], "How do I reset my password?");
  EXPECT_EQ(turns[1]["answer"], second["answer"]);
  // Another tenant cannot read it; nor can anyone read a made-up id.
  EXPECT_EQ(server_->Get("/v1/conversations/" + id, *globex_).status, 404);
  EXPECT_EQ(server_->Get("/v1/conversations/conv_000000000000000000000000", *acme_).status, 404);
}

// The OpenAI façade through a real, independent HTTP client: curl.
TEST_F(ServeApi, OpenAiFacadeThroughCurl) {
  const std::string base = "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1";
  RunResult models = RunProcess({"/usr/bin/curl", "-sS", "-H", "Authorization: Bearer " + *acme_, base + "/models"});
  ASSERT_EQ(models.exit_code, 0) << models.err;
  json m = json::parse(models.out, nullptr, false);
  ASSERT_TRUE(m.is_object()) << models.out;
  EXPECT_EQ(m["object"], "list");
  std::set<std::string> ids;
  for (const auto& x : m["data"]) ids.insert(x["id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"acme-notes", "support"}));  // not globex's

  json request = {{"model", "support"},
                  {"messages", {{{"role", "system"}, {"content", "Be brief."}},
                                {{"role", "user"}, {"content", "How do I reset my password?"}}}}};
  RunResult plain = RunProcess({"/usr/bin/curl", "-sS", "-H", "Authorization: Bearer " + *acme_, "-H",
                                "Content-Type: application/json", "-d", request.dump(), base + "/chat/completions"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  json c = json::parse(plain.out, nullptr, false);
  ASSERT_TRUE(c.is_object()) << plain.out;
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["model"], "support");
  EXPECT_EQ(c["choices"][0]["message"]["role"], "assistant");
  EXPECT_FALSE(c["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_GT(c["usage"]["total_tokens"].get<int>(), 0);

  request["stream"] = true;
  RunResult streamed = RunProcess({"/usr/bin/curl", "-sS", "-N", "-H", "Authorization: Bearer " + *acme_, "-H",
                                   "Content-Type: application/json", "-d", request.dump(),
                                   base + "/chat/completions"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  auto events = SseEvents(streamed.out);
  ASSERT_GE(events.size(), 3u) << streamed.out;
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(events.front()["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i]["object"], "chat.completion.chunk");
    EXPECT_EQ(events[i]["id"], events.front()["id"]);
    text += events[i]["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "stop");
  EXPECT_NE(text.find("[1]"), std::string::npos) << text;

  // An error is an OpenAI-style error body.
  RunResult bad = RunProcess({"/usr/bin/curl", "-sS", "-H", "Authorization: Bearer " + *acme_, "-H",
                              "Content-Type: application/json", "-d", R"({"model":"support","messages":[]})",
                              base + "/chat/completions"});
  json e = json::parse(bad.out, nullptr, false);
  EXPECT_EQ(e["error"]["type"], "invalid_request_error") << bad.out;
  EXPECT_EQ(e["error"]["code"], "invalid_messages");
}

TEST_F(ServeApi, TenantsSeeOnlyTheirOwnCollectionsAndChunks) {
  // Near-duplicate documents with the same id in two tenants' collections.
  HttpResult a = server_->Post("/v1/search", {{"collection", "acme-notes"}, {"query", "refund original card"}}, *acme_);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_FALSE(a.Json()["hits"].empty());
  json a_hits = a.Json()["hits"];
  for (const auto& h : a_hits) {
    EXPECT_NE(h["text"].get<std::string>().find("ACME-7731"), std::string::npos);
    EXPECT_EQ(h["text"].get<std::string>().find("GLOBEX"), std::string::npos);
  }
  HttpResult g = server_->Post("/v1/search", {{"collection", "globex-notes"}, {"query", "refund reference"}}, *globex_);
  ASSERT_EQ(g.status, 200);
  json g_hits = g.Json()["hits"];
  for (const auto& h : g_hits) EXPECT_EQ(h["text"].get<std::string>().find("ACME"), std::string::npos);

  // The other tenant's collection is indistinguishable from a missing one.
  HttpResult cross = server_->Post("/v1/search", {{"collection", "globex-notes"}, {"query", "refund"}}, *acme_);
  EXPECT_EQ(cross.status, 404);
  HttpResult missing = server_->Post("/v1/search", {{"collection", "no-such"}, {"query", "refund"}}, *acme_);
  EXPECT_EQ(missing.status, 404);
  // Same words as for a collection that does not exist at all.
  EXPECT_EQ(cross.Json()["error"]["message"], "collection 'globex-notes' does not exist");
  EXPECT_EQ(missing.Json()["error"]["message"], "collection 'no-such' does not exist");
  EXPECT_EQ(server_->Post("/v1/chat", {{"collection", "globex-notes"}, {"message", "refund reference?"}}, *acme_).status,
            404);
  EXPECT_EQ(server_->Get("/v1/collections/globex-notes/documents", *acme_).status, 404);
  EXPECT_EQ(server_->Delete("/v1/collections/globex-notes/documents/refund.md", *acme_admin_).status, 404);
  HttpResult take = server_->Post("/v1/collections/globex-notes/documents",
                                  {{"id", "x"}, {"text", "Taking over another tenant's collection."}}, *acme_admin_);
  EXPECT_EQ(take.status, 409) << take.body;

  std::set<std::string> names;
  json collections = server_->Get("/v1/collections", *globex_).Json();
  for (const auto& c : collections["data"]) names.insert(c["name"]);
  EXPECT_EQ(names, std::set<std::string>{"globex-notes"});
  // globex's document is still there, untouched.
  HttpResult docs = server_->Get("/v1/collections/globex-notes/documents", *globex_);
  ASSERT_EQ(docs.status, 200);
  EXPECT_EQ(docs.Json()["data"].size(), 1u);
}

TEST_F(ServeApi, UploadsListsAndDeletesDocuments) {
  const std::string c = "/v1/collections/uploads/documents";
  HttpResult added = server_->Post(
      c, {{"id", "faq/loyalty"}, {"title", "Loyalty points"},
          {"text", "Loyalty points expire after eighteen months of inactivity on the account."}},
      *acme_admin_);
  ASSERT_EQ(added.status, 201) << added.body;  // created
  EXPECT_EQ(added.Json()["added"], 1);

  // A multipart upload of two files in different formats.
  const std::string boundary = "lathe-test-boundary";
  std::string body;
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gift-cards.md\"\r\n"
          "Content-Type: text/markdown\r\n\r\n# Gift cards\n\nGift cards never expire and can be topped up.\r\n";
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"parking.txt\"\r\n\r\n"
          "Customer parking is free for the first ninety minutes.\r\n";
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\".returns.text\"\r\n\r\n"
          "Returns are accepted within thirty days with the receipt.\r\n";
  body += "--" + boundary + "--\r\n";
  HttpResult multi = Http(server_->port(), "POST", c, body,
                          {{"Authorization", "Bearer " + *acme_admin_},
                           {"Content-Type", "multipart/form-data; boundary=" + boundary}});
  ASSERT_EQ(multi.status, 201) << multi.body;
  EXPECT_EQ(multi.Json()["added"], 3);  // a hidden name loses its dot, not its content

  HttpResult list = server_->Get(c, *acme_);
  ASSERT_EQ(list.status, 200);
  std::set<std::string> ids;
  json documents = list.Json();
  for (const auto& d : documents["data"]) ids.insert(d["id"]);
  EXPECT_EQ(ids, (std::set<std::string>{"faq/loyalty", "gift-cards.md", "parking.txt", "returns.text"}));

  HttpResult hit = server_->Post("/v1/search", {{"collection", "uploads"}, {"query", "when do loyalty points expire"}},
                                 *acme_);
  ASSERT_EQ(hit.status, 200);
  ASSERT_FALSE(hit.Json()["hits"].empty());
  EXPECT_EQ(hit.Json()["hits"][0]["doc_id"], "faq/loyalty");

  EXPECT_EQ(server_->Delete(c + "/faq%2Floyalty", *acme_admin_).status, 200);
  EXPECT_EQ(server_->Delete(c + "/faq%2Floyalty", *acme_admin_).status, 404);
  json after = server_->Post("/v1/search", {{"collection", "uploads"}, {"query", "loyalty points"}}, *acme_).Json();
  for (const auto& h : after["hits"]) {
    EXPECT_NE(h["doc_id"], "faq/loyalty");
  }

  // Refusals: wrong scope, unsupported format, two files with one name.
  EXPECT_EQ(server_->Post(c, {{"id", "x"}, {"text", "y"}}, *acme_).status, 403);
  std::string exe = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tool.exe\"\r\n\r\n"
                    "MZ\r\n--" + boundary + "--\r\n";
  HttpResult unsupported = Http(server_->port(), "POST", c, exe,
                                {{"Authorization", "Bearer " + *acme_admin_},
                                 {"Content-Type", "multipart/form-data; boundary=" + boundary}});
  EXPECT_EQ(unsupported.status, 415) << unsupported.body;
  std::string twice;
  for (int i = 0; i < 2; ++i) {
    twice += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nSome text " +
             std::to_string(i) + " about parking.\r\n";
  }
  twice += "--" + boundary + "--\r\n";
  HttpResult dup = Http(server_->port(), "POST", c, twice,
                        {{"Authorization", "Bearer " + *acme_admin_},
                         {"Content-Type", "multipart/form-data; boundary=" + boundary}});
  EXPECT_EQ(dup.status, 400) << dup.body;
  EXPECT_EQ(dup.Json()["error"]["code"], "duplicate_file_name");
}

// Every bad request gets the documented status and an OpenAI-style error body.
TEST_F(ServeApi, BadRequestTable) {
  struct Row {
    const char* method;
    const char* target;
    int key;  // 0 none, 1 query, 2 admin, 3 unknown
    std::string body;
    int status;
    const char* code;  // expected error.code ("" = any)
  };
  const std::vector<Row> rows = {
      {"POST", "/v1/search", 0, R"({"collection":"support","query":"x"})", 401, ""},
      {"POST", "/v1/search", 3, R"({"collection":"support","query":"x"})", 401, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":)", 400, "invalid_json"},
      {"POST", "/v1/search", 1, R"([1,2])", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support"})", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":42})", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":"x","k":0})", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":"x","k":"ten"})", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":"x","retriever":"magic"})", 400, ""},
      {"POST", "/v1/search", 1, R"({"collection":"support","query":"x","filter":"doc"})", 400, "invalid_filter"},
      {"POST", "/v1/search", 1, R"({"collection":"../etc","query":"x"})", 400, ""},
      {"POST", "/v1/chat", 1, R"({"collection":"support","message":""})", 400, ""},
      {"POST", "/v1/chat", 1, R"({"collection":"support","message":"hi","stream":"yes"})", 400, ""},
      {"POST", "/v1/chat", 1, R"({"collection":"support","message":"hi","conversation_id":"nope"})", 404, ""},
      {"POST", "/v1/chat", 1, R"({"collection":"nowhere","message":"hi"})", 404, ""},
      {"POST", "/v1/chat/completions", 1, R"({"model":"support","messages":"hi"})", 400, "invalid_messages"},
      {"POST", "/v1/chat/completions", 1,
       R"({"model":"support","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})", 400,
       "invalid_messages"},
      {"POST", "/v1/chat/completions", 1, R"({"messages":[{"role":"user","content":"a"}]})", 400, ""},
      {"POST", "/v1/collections/support/documents", 1, R"({"id":"a","text":"b"})", 403, ""},
      {"POST", "/v1/collections/support/documents", 2, R"({"id":"a"})", 400, ""},
      {"DELETE", "/v1/collections/support/documents/no-such-doc", 2, "", 404, ""},
      {"GET", "/v1/nothing-here", 1, "", 404, "route_not_found"},
      {"DELETE", "/v1/search", 1, "", 405, "method_not_allowed"},
  };
  for (const auto& row : rows) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (row.key == 1) headers = Server::Auth(*acme_);
    if (row.key == 2) headers = Server::Auth(*acme_admin_);
    if (row.key == 3) headers = Server::Auth("lk_0123456789ab_notarealsecretnotarealsecret");
    HttpResult r = Http(server_->port(), row.method, row.target, row.body, headers);
    SCOPED_TRACE(std::string(row.method) + " " + row.target + " " + row.body);
    EXPECT_EQ(r.status, row.status) << r.body;
    json e = r.Json();
    ASSERT_TRUE(e.contains("error")) << r.body;
    EXPECT_TRUE(e["error"]["message"].is_string() && !e["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(e["error"]["type"].is_string());
    if (*row.code) {
      EXPECT_EQ(e["error"]["code"], row.code);
    }
  }
}

TEST_F(ServeApi, CorsForTheConfiguredOriginOnly) {
  auto preflight = [&](const std::string& origin) {
    return Http(server_->port(), "OPTIONS", "/v1/chat", "",
                {{"Origin", origin}, {"Access-Control-Request-Method", "POST"},
                 {"Access-Control-Request-Headers", "authorization, content-type"}});
  };
  HttpResult ok = preflight("https://help.example.com");
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.Header("access-control-allow-origin"), "https://help.example.com");
  EXPECT_NE(ok.Header("access-control-allow-headers").find("Authorization"), std::string::npos);
  EXPECT_EQ(preflight("https://evil.example.net").status, 403);

  auto headers = Server::Auth(*acme_);
  headers.push_back({"Origin", "https://help.example.com"});
  HttpResult plain = Http(server_->port(), "POST", "/v1/chat",
                          json{{"collection", "support"}, {"message", "refund policy"}}.dump(), headers);
  EXPECT_EQ(plain.Header("access-control-allow-origin"), "https://help.example.com");
  HttpResult stream = Http(server_->port(), "POST", "/v1/chat",
                           json{{"collection", "support"}, {"message", "refund policy"}, {"stream", true}}.dump(),
                           headers);
  EXPECT_EQ(stream.status, 200);
  EXPECT_EQ(stream.Header("access-control-allow-origin"), "https://help.example.com");
  headers.back().second = "https://evil.example.net";
  HttpResult other = Http(server_->port(), "POST", "/v1/chat",
                          json{{"collection", "support"}, {"message", "refund policy"}}.dump(), headers);
  EXPECT_EQ(other.Header("access-control-allow-origin"), "");
}

// A raw TCP connection for the limit tests.
struct Raw {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  explicit Raw(int port) {
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }
  void Send(const std::string& data) { boost::asio::write(socket, boost::asio::buffer(data)); }
  // Everything until the server closes the connection or `wait` passes.
  std::string Receive(std::chrono::milliseconds wait) {
    timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

TEST(ServeLimits, BodyHeaderAndSlowClient) {
  TempDir dir;
  RunResult r = RunLathe(dir.path(), {"ingest", SourceDir() + "/examples/support-kb/shipping-and-hardware", "-c", "kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string key = CreateKey(dir.path(), "default", "admin");
  Server server(dir.path(),
                "server:\n  max_body_bytes: 4096\n  max_header_bytes: 2048\n  read_timeout_ms: 400\n");
  ASSERT_GT(server.port(), 0);

  HttpResult big = server.Post("/v1/search", {{"collection", "kb"}, {"query", std::string(5000, 'a')}}, key);
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.Json()["error"]["type"], "invalid_request_error");
  HttpResult fat = Http(server.port(), "GET", "/v1/collections", "",
                        {{"Authorization", "Bearer " + key}, {"X-Padding", std::string(3000, 'p')}});
  EXPECT_EQ(fat.status, 431) << fat.body;

  // A client that starts a request and stops sending gets 408.
  {
    Raw slow(server.port());
    slow.Send("POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"coll");
    std::string reply = slow.Receive(std::chrono::seconds(5));
    EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
  }

}

// At the connection cap a further client is told 503 and the server stays up.
// (A server of its own: the held connections must outlive the read timeout
// even on a loaded machine, or they close and free their places.)
TEST(ServeLimits, ConnectionCap) {
  TempDir dir;
  RunResult r = RunLathe(dir.path(), {"ingest", SourceDir() + "/examples/support-kb/shipping-and-hardware", "-c", "kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string key = CreateKey(dir.path(), "default", "query");
  Server server(dir.path(), "server:\n  read_timeout_ms: 60000\n  idle_timeout_ms: 60000\n  max_connections: 3\n");
  ASSERT_GT(server.port(), 0);
  {
    std::vector<std::unique_ptr<Raw>> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<Raw>(server.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Raw extra(server.port());
    std::string reply = extra.Receive(std::chrono::seconds(5));
    EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << "reply: '" << reply << "'";
  }
  // The held connections are gone; places free up as the server notices.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = server.Get("/v1/collections", key).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
  HttpResult m = server.Get("/metrics");
  EXPECT_NE(m.body.find("lathe_http_rejected_total{reason=\"max_connections\"}"), std::string::npos);
}

// The chat's independent waits run at once: with 400 ms injected into each of
// history, BM25 and the query embedding, retrieval takes about 400 ms, not 1.2 s.
TEST(ServeFanOut, LatencyIsTheSlowestWaitNotTheSum) {
  TempDir dir;
  RunResult r = RunLathe(dir.path(), {"ingest", SourceDir() + "/examples/support-kb/shipping-and-hardware", "-c", "kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string key = CreateKey(dir.path(), "default", "query");
  Server server(dir.path(), "testing:\n  delay_history_ms: 400\n  delay_bm25_ms: 400\n  delay_embed_ms: 400\n");
  ASSERT_GT(server.port(), 0);
  for (int i = 0; i < 3; ++i) {
    HttpResult c = server.Post("/v1/chat", {{"collection", "kb"}, {"message", "How long does delivery take?"}}, key);
    ASSERT_EQ(c.status, 200) << c.body;
    double retrieve = c.Json()["timings_ms"]["retrieve"];
    EXPECT_GE(retrieve, 400);
    EXPECT_LT(retrieve, 1000) << "the waits ran one after another";
  }
}

// `lathe serve` refuses a bad configuration before it listens: exit 2 and a
// message naming the key and the problem.
// ui.enabled: false leaves only the API.
TEST(ServeConfig, UiCanBeTurnedOff) {
  TempDir dir;
  Server server(dir.path(), "ui:\n  enabled: false\n");
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.Get("/").status, 404);
  EXPECT_EQ(server.Get("/ui/js/app.js").status, 404);
  EXPECT_EQ(server.Get("/healthz").status, 200);
}

TEST(ServeConfig, BadConfigurationTable) {
  TempDir dir;
  struct Row {
    std::string yaml;
    std::string expect;  // in stderr
  };
  const std::vector<Row> rows = {
      {"server:\n  prot: 8080\n", "server.prot"},
      {"serve:\n  port: 8080\n", "serve"},
      {"server:\n  port: eighty\n", "server.port"},
      {"server:\n  port: 70000\n", "server.port"},
      {"server:\n  max_connections: 0\n", "server.max_connections"},
      {"answer:\n  abstain_threshold: 1.5\n", "abstain_threshold"},
      {"answer:\n  abstain_threshold: .nan\n", "abstain_threshold"},
      {"answer:\n  backend: gpt\n", "answer.backend"},
      {"answer:\n  backend: openai\n", "llm.base_url"},
      {"embeddings:\n  backend: openai\n", "embeddings.base_url"},
      {"answer:\n  backend: openai\nllm:\n  base_url: ftp://models.example.com\n", "ftp://"},
      {"llm:\n  temperature: 9\n", "temperature"},
      {"server: [1, 2\n", "lathe.yaml"},
      {"- just\n- a list\n", "lathe.yaml"},
  };
  for (const auto& row : rows) {
    WriteFile(dir / "lathe.yaml", row.yaml);
    RunResult r = RunLathe(dir.path(), {"serve", "--port", "0", "--config", dir / "lathe.yaml"});
    SCOPED_TRACE(row.yaml);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(row.expect), std::string::npos) << r.err;
  }
  RunResult missing = RunLathe(dir.path(), {"serve", "--config", dir / "absent.yaml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.yaml"), std::string::npos) << missing.err;
  setenv("LATHE_SERVER_PORT", "not-a-port", 1);
  RunResult env = RunLathe(dir.path(), {"serve", "--print-config"});
  unsetenv("LATHE_SERVER_PORT");
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.err.find("LATHE_SERVER_PORT"), std::string::npos) << env.err;
  setenv("LATHE_SERVER_PROT", "8080", 1);  // misspelt: refused, not ignored
  RunResult typo = RunLathe(dir.path(), {"serve", "--print-config"});
  unsetenv("LATHE_SERVER_PROT");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("LATHE_SERVER_PROT is not a configuration key"), std::string::npos) << typo.err;
}

TEST(ServeConfig, PrintConfigMasksSecretsAndShowsOverrides) {
  TempDir dir;
  WriteFile(dir / "lathe.yaml", "llm:\n  model: my-model\n  api_key:\nanswer:\n  top_k: 7\n");
  setenv("LATHE_LLM_API_KEY", "sk-very-secret-value", 1);
  setenv("LATHE_ANSWER_TOP_K", "9", 1);
  RunResult r = RunLathe(dir.path(), {"serve", "--config", dir / "lathe.yaml", "--print-config"});
  unsetenv("LATHE_LLM_API_KEY");
  unsetenv("LATHE_ANSWER_TOP_K");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("sk-very-secret-value"), std::string::npos);
  EXPECT_NE(r.out.find("api_key: \"****\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: \"my-model\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top_k: 9"), std::string::npos) << r.out;  // the environment wins over the file
}

}  // namespace
}  // namespace lathe::test
