// End-to-end crash safety: an ingest killed with SIGKILL midway leaves every
// document it had acknowledged (logged as committed) in the catalog and
// searchable, the catalog consistent, and a re-run completes the rest.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "test_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kLathe = LATHE_BINARY;

std::string MakeCorpus(size_t docs) {
  static const char* kWords[] = {"account", "billing", "refund", "reader", "shipping", "invoice", "password",
                                 "webhook", "firmware", "battery", "customer", "payment", "receipt", "tax",
                                 "sync", "offline", "printer", "country", "carrier", "warranty", "token"};
  std::mt19937 rng(7);
  std::string out;
  for (size_t i = 0; i < docs; ++i) {
    std::string text;
    for (int w = 0; w < 60; ++w) {
      text += kWords[rng() % std::size(kWords)];
      text += ' ';
    }
    text += "uniq" + std::to_string(i);
    out += json{{"_id", "doc-" + std::to_string(i)}, {"title", "Document " + std::to_string(i)}, {"text", text}}.dump();
    out += "\n";
  }
  return out;
}

TEST(CliCrash, KillDuringIngestLosesNothingAcknowledged) {
  TempDir dir;
  const size_t kDocs = 30000;
  WriteFile(dir / "corpus.jsonl", MakeCorpus(kDocs));
  std::set<std::string> acknowledged;
  {
    Child child({kLathe, "--data-dir", dir / "data", "--log-level", "debug", "ingest", dir / "corpus.jsonl",
                 "--batch-size", "50"});
    ASSERT_GT(child.pid(), 0);
    std::string line;
    const std::string marker = "committed doc-";
    while (acknowledged.size() < 3000 && child.ReadLine(&line)) {
      size_t at = line.find(marker);
      if (at != std::string::npos) acknowledged.insert(line.substr(at + 10));
    }
    int status = child.Kill9();
    ASSERT_TRUE(WIFSIGNALED(status)) << "ingest finished before it could be killed; make the corpus larger";
  }
  ASSERT_GE(acknowledged.size(), 3000u);

  // The catalog is consistent, and the stale index is rebuilt from it.
  RunResult check = RunLathe(dir / "data", {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.err << check.out;

  RunResult docs = RunLathe(dir / "data", {"documents", "--json"});
  ASSERT_EQ(docs.exit_code, 0) << docs.err;
  std::set<std::string> stored;
  for (const json& d : json::parse(docs.out)) stored.insert(d["id"].get<std::string>());
  for (const std::string& id : acknowledged) ASSERT_TRUE(stored.count(id)) << id << " was acknowledged but lost";
  EXPECT_LT(stored.size(), kDocs);

  // The last acknowledged document is searchable by its unique word.
  std::string last = *acknowledged.rbegin();
  std::string uniq = "uniq" + last.substr(4);
  RunResult s = RunLathe(dir / "data", {"search", uniq, "--retriever", "bm25", "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  json hits = json::parse(s.out)["hits"];
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0]["doc_id"], last);

  // Re-running the ingest skips what is stored and adds the rest.
  RunResult again = RunLathe(dir / "data", {"ingest", dir / "corpus.jsonl", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json report = json::parse(again.out);
  EXPECT_EQ(report["unchanged"].get<size_t>(), stored.size());
  EXPECT_EQ(report["added"].get<size_t>() + report["unchanged"].get<size_t>(), kDocs);
  EXPECT_EQ(RunLathe(dir / "data", {"check"}).exit_code, 0);
}

}  // namespace
}  // namespace lathe::test
