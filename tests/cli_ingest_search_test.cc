// End-to-end: ingest the sample knowledge base with the real binary, search it,
// update and delete documents, restart (snapshot reuse), and recover from a
// corrupted snapshot.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kKb = std::string(LATHE_SOURCE_DIR) + "/examples/support-kb";

RunResult Lathe(const TempDir& dir, std::vector<std::string> args) { return RunLathe(dir / "data", std::move(args)); }

json SearchJson(const TempDir& dir, const std::string& query, const std::string& collection, int k = 5,
                const std::string& retriever = "hybrid") {
  RunResult r = Lathe(dir, {"search", query, "-c", collection, "-k", std::to_string(k), "--json", "--retriever",
                            retriever});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

std::vector<std::string> DocIds(const json& result) {
  std::vector<std::string> ids;
  if (!result.is_object()) return ids;
  for (const json& h : result["hits"]) ids.push_back(h["doc_id"]);
  return ids;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The build's allocator is the one malloc really reaches (checked by the
// binary on a live block).
TEST(CliVersion, NamesTheAllocatorInUse) {
  TempDir dir;
  RunResult r = Lathe(dir, {"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
#ifdef LATHE_EXPECT_MIMALLOC
  EXPECT_EQ(r.out.rfind("lathe 0.1.0 (malloc: mimalloc ", 0), 0u) << r.out;
#else
  EXPECT_EQ(r.out, "lathe 0.1.0 (malloc: glibc)\n");
#endif
}

TEST(CliIngest, SampleKnowledgeBaseIngestsEveryFileAndSearches) {
  TempDir dir;
  RunResult r = Lathe(dir, {"ingest", kKb, "-c", "kb", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_GE(report["added"].get<int>(), 40);
  EXPECT_EQ(report["failed"].get<int>(), 0) << r.err;
  EXPECT_GT(report["chunks"].get<int>(), report["added"].get<int>());

  // Each format is searchable, and the right article ranks first.
  struct Case {
    const char* query;
    const char* expected;
  } cases[] = {
      {"get a refund for an annual yearly plan", "billing-and-refunds/refunds-for-annual-plans.md"},
      {"lost phone two-factor code", "accounts-and-login/two-factor-lost-phone.html"},
      {"reader does not pair over bluetooth", "troubleshooting/reader-wont-pair-bluetooth.md"},
      {"verify webhook signature", "integrations/webhooks-and-signature-verification.md"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> ids = DocIds(SearchJson(dir, c.query, "kb", 3));
    ASSERT_FALSE(ids.empty()) << c.query;
    EXPECT_EQ(ids[0], c.expected) << c.query;
  }
  // The PDF articles were ingested and are found.
  RunResult docs = Lathe(dir, {"documents", "-c", "kb", "--json"});
  ASSERT_EQ(docs.exit_code, 0);
  int pdfs = 0;
  for (const json& d : json::parse(docs.out)) pdfs += d["format"] == "pdf";
  EXPECT_GE(pdfs, 2);
}

TEST(CliIngest, ReingestUnchangedIsANoOpAndChangedDocumentIsReplaced) {
  TempDir dir;
  WriteFile(dir / "kb/a.md", "# Alpha\n\nThe zebracorn feature ships in spring.\n");
  WriteFile(dir / "kb/b.txt", "Beta\n\nBilling questions about invoices go here.\n");
  RunResult first = Lathe(dir, {"ingest", dir / "kb", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(json::parse(first.out)["added"], 2);

  RunResult again = Lathe(dir, {"ingest", dir / "kb", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json j = json::parse(again.out);
  EXPECT_EQ(j["added"], 0);
  EXPECT_EQ(j["updated"], 0);
  EXPECT_EQ(j["unchanged"], 2);
  EXPECT_EQ(j["chunks"], 0);

  WriteFile(dir / "kb/a.md", "# Alpha\n\nThe quokkafish feature replaced it.\n");
  RunResult changed = Lathe(dir, {"ingest", dir / "kb", "--json"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  j = json::parse(changed.out);
  EXPECT_EQ(j["updated"], 1);
  EXPECT_EQ(j["unchanged"], 1);

  EXPECT_TRUE(Contains(DocIds(SearchJson(dir, "quokkafish", "default", 5, "bm25")), "a.md"));
  EXPECT_TRUE(DocIds(SearchJson(dir, "zebracorn", "default", 5, "bm25")).empty());
  RunResult check = Lathe(dir, {"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
}

TEST(CliIngest, ReplacingEveryDocumentCompactsTheSnapshot) {
  TempDir dir;
  ASSERT_EQ(Lathe(dir, {"ingest", kKb}).exit_code, 0);
  json before = SearchJson(dir, "warranty for the card reader", "default");
  // Other chunk settings change every document: all are replaced.
  RunResult r = Lathe(dir, {"ingest", kKb, "--chunk-words", "150", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["updated"], json::parse(Lathe(dir, {"documents", "--json"}).out).size());
  // The snapshot written after the ingest holds no dead slots: it is reused as is.
  RunResult check = Lathe(dir, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("from snapshot"), std::string::npos) << check.out << check.err;
  EXPECT_EQ(check.err.find("rebuilding"), std::string::npos) << check.err;
  EXPECT_FALSE(DocIds(SearchJson(dir, "warranty for the card reader", "default")).empty());
}

TEST(CliIngest, DeleteRemovesADocumentAndUnknownIdIsAnError) {
  TempDir dir;
  WriteFile(dir / "kb/keep.md", "# Keep\n\nShipping to Canada takes four days.\n");
  WriteFile(dir / "kb/drop.md", "# Drop\n\nShipping to Peru takes ten days.\n");
  ASSERT_EQ(Lathe(dir, {"ingest", dir / "kb"}).exit_code, 0);
  ASSERT_TRUE(Contains(DocIds(SearchJson(dir, "shipping Peru", "default", 5, "bm25")), "drop.md"));

  RunResult del = Lathe(dir, {"delete", "drop.md"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  std::vector<std::string> ids = DocIds(SearchJson(dir, "shipping Peru", "default", 5));
  EXPECT_FALSE(Contains(ids, "drop.md"));
  EXPECT_TRUE(Contains(ids, "keep.md"));

  RunResult missing = Lathe(dir, {"delete", "nope.md"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("nope.md"), std::string::npos) << missing.err;
  EXPECT_EQ(Lathe(dir, {"check"}).exit_code, 0);
}

TEST(CliIngest, RestartReusesTheSnapshotWithTheSameResults) {
  TempDir dir;
  ASSERT_EQ(Lathe(dir, {"ingest", kKb}).exit_code, 0);
  json before = SearchJson(dir, "how do I change the email on my account", "default");
  RunResult again = Lathe(dir, {"search", "how do I change the email on my account", "--json"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.err.find("rebuilding"), std::string::npos) << "snapshot should be reused: " << again.err;
  EXPECT_EQ(DocIds(before), DocIds(json::parse(again.out)));
}

TEST(CliIngest, CorruptedSnapshotIsRebuiltFromTheCatalog) {
  TempDir dir;
  ASSERT_EQ(Lathe(dir, {"ingest", kKb}).exit_code, 0);
  json before = SearchJson(dir, "rate limit for the API", "default");
  std::string snap = dir / "data/index/collection-1.snap";
  std::string bytes = ReadAll(snap);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x5A;
  WriteFile(snap, bytes);

  RunResult r = Lathe(dir, {"search", "rate limit for the API", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rebuilding index"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << r.err;
  EXPECT_EQ(DocIds(before), DocIds(json::parse(r.out)));
  // The rebuild wrote a good snapshot: the next run reuses it.
  RunResult next = Lathe(dir, {"search", "rate limit for the API"});
  EXPECT_EQ(next.err.find("rebuilding"), std::string::npos) << next.err;

  // A truncated snapshot and a missing one are rebuilt too.
  bytes = ReadAll(snap);
  WriteFile(snap, bytes.substr(0, bytes.size() / 3));
  r = Lathe(dir, {"search", "rate limit for the API", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rebuilding index"), std::string::npos) << r.err;
  std::filesystem::remove(snap);
  r = Lathe(dir, {"search", "rate limit for the API", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DocIds(before), DocIds(json::parse(r.out)));
}

TEST(CliIngest, DamagedEmbedderModelIsRetrained) {
  TempDir dir;
  ASSERT_EQ(Lathe(dir, {"ingest", kKb}).exit_code, 0);
  WriteFile(dir / "data/models/collection-1.lsa", "garbage");
  RunResult r = Lathe(dir, {"search", "refund", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("retraining"), std::string::npos) << r.err;
  EXPECT_FALSE(DocIds(json::parse(r.out)).empty());
  EXPECT_EQ(Lathe(dir, {"check"}).exit_code, 0);
}

TEST(CliEval, SampleKnowledgeBaseEvaluationSetRanksTheRightArticles) {
  TempDir dir;
  const std::string eval = std::string(LATHE_SOURCE_DIR) + "/examples/support-kb-eval";
  RunResult r = Lathe(dir, {"eval", "--corpus", kKb, "--queries", eval + "/queries.jsonl", "--qrels",
                            eval + "/qrels.tsv", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["queries"], 70);
  ASSERT_EQ(out["results"].size(), 3u);
  for (const json& result : out["results"]) {
    // Every judged query finds a relevant article in its top 10 almost always,
    // and the first hit is relevant for most of them.
    EXPECT_GT(result["recall_at_10"].get<double>(), 0.9) << result.dump();
    EXPECT_GT(result["ndcg_at_10"].get<double>(), 0.8) << result.dump();
    EXPECT_GT(result["latency_ms"]["p50"].get<double>(), 0.0);
  }
  // Mixing a BEIR folder with explicit files is refused.
  RunResult both = Lathe(dir, {"eval", "--beir", eval, "--corpus", kKb});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("either --beir"), std::string::npos) << both.err;
}

TEST(CliSearch, UnknownCollectionAndBadArgumentsFailClearly) {
  TempDir dir;
  RunResult r = Lathe(dir, {"search", "hello", "-c", "missing"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("collection 'missing' does not exist"), std::string::npos) << r.err;
  ASSERT_EQ(Lathe(dir, {"ingest", kKb}).exit_code, 0);
  r = Lathe(dir, {"search", "hello", "--retriever", "magic"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown retriever"), std::string::npos) << r.err;
  r = Lathe(dir, {"search", "hello", "-k", "0"});
  EXPECT_NE(r.exit_code, 0);
  // A query with no known words returns no lexical hits but does not fail.
  r = Lathe(dir, {"search", "qqqqzzzz", "--retriever", "bm25"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no passages"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lathe::test
