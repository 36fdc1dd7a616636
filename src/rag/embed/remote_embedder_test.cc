#include "rag/embed/remote_embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "common/cpu_pool.h"
#include "llm_standin_util.h"
#include "rag/index/catalog.h"
#include "rag/index/collection_index.h"
#include "test_util.h"

namespace lathe::rag {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class RemoteEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(standin_.port(), 0) << "stand-in did not start"; }
  RemoteEmbedderOptions Options() {
    RemoteEmbedderOptions options;
    options.base_url = standin_.base_url();
    options.model = "emb";
    options.per_try_timeout = milliseconds(2000);
    options.call_timeout = milliseconds(3000);
    options.backoff_base = milliseconds(10);
    options.backoff_max = milliseconds(40);
    options.breaker_cool_down = milliseconds(300);
    options.metrics = &metrics_;
    return options;
  }
  std::unique_ptr<RemoteEmbedder> Make(RemoteEmbedderOptions options) {
    Result<std::unique_ptr<RemoteEmbedder>> embedder = RemoteEmbedder::Create(std::move(options));
    EXPECT_TRUE(embedder.ok()) << embedder.status().ToString();
    return embedder.ok() ? std::move(embedder).value() : nullptr;
  }
  int EmbeddingRequests() { return standin_.Stats()["embedding_requests"].get<int>(); }

  test::StandIn standin_{{"--dim", "32"}};
  net::MetricsRegistry metrics_;
};

std::vector<std::string> Texts(int n) {
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) texts.push_back("text number " + std::to_string(i) + " about topic " + std::to_string(i % 7));
  return texts;
}

TEST_F(RemoteEmbedderTest, LearnsTheDimensionFromTheServer) {
  auto embedder = Make(Options());
  ASSERT_NE(embedder, nullptr);
  EXPECT_EQ(embedder->dim(), 32);
  EXPECT_EQ(embedder->id(), "remote:emb:d32");
  EXPECT_EQ(EmbeddingRequests(), 1);  // the probe
}

TEST_F(RemoteEmbedderTest, EmbedsInBatchesNormalisedAndInInputOrder) {
  RemoteEmbedderOptions options = Options();
  options.batch_size = 64;
  auto embedder = Make(options);
  standin_.Reset();
  std::vector<std::string> texts = Texts(150);
  std::vector<float> out(texts.size() * 32);
  Status status = embedder->Embed(texts, false, out.data());
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(EmbeddingRequests(), 3);  // 64 + 64 + 22
  for (size_t i = 0; i < texts.size(); ++i) {
    double norm = 0;
    for (int j = 0; j < 32; ++j) norm += double(out[i * 32 + j]) * out[i * 32 + j];
    ASSERT_NEAR(norm, 1.0, 1e-5) << "row " << i;
  }
  // Each row belongs to its own text (the stand-in answers in reverse order).
  for (size_t i : {0ul, 63ul, 64ul, 149ul}) {
    std::vector<float> one(32);
    ASSERT_TRUE(embedder->Embed({texts[i]}, false, one.data()).ok());
    for (int j = 0; j < 32; ++j) ASSERT_FLOAT_EQ(one[j], out[i * 32 + j]) << "row " << i;
  }
}

TEST_F(RemoteEmbedderTest, QueryAndPassagePrefixesAreApplied) {
  RemoteEmbedderOptions options = Options();
  options.query_prefix = "query: ";
  auto embedder = Make(options);
  std::vector<float> passage(32), query(32);
  ASSERT_TRUE(embedder->Embed({"alpha"}, false, passage.data()).ok());
  ASSERT_TRUE(embedder->Embed({"alpha"}, true, query.data()).ok());
  EXPECT_NE(passage, query);
}

TEST_F(RemoteEmbedderTest, KeepsBatchesInFlightUpToTheCap) {
  RemoteEmbedderOptions options = Options();
  options.batch_size = 1;
  options.max_concurrent = 2;
  auto embedder = Make(options);
  standin_.Control({{"mode", "slow"}, {"delay_ms", 50}, {"reset_stats", true}});
  std::vector<std::string> texts = Texts(8);
  std::vector<float> out(texts.size() * 32);
  auto start = Clock::now();
  ASSERT_TRUE(embedder->Embed(texts, false, out.data()).ok());
  EXPECT_LT(Clock::now() - start, milliseconds(8 * 50));  // overlapped
  nlohmann::json stats = standin_.Stats();
  EXPECT_EQ(stats["embedding_requests"], 8);
  EXPECT_EQ(stats["max_concurrent"], 2);
}

TEST_F(RemoteEmbedderTest, DimensionMismatchIsAnErrorNamingBothSizes) {
  RemoteEmbedderOptions options = Options();
  options.dim = 16;
  auto embedder = Make(options);
  EXPECT_EQ(embedder->id(), "remote:emb:d16");
  std::vector<float> out(16);
  Status status = embedder->Embed({"alpha"}, false, out.data());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("dimension 32, expected 16"), std::string::npos) << status.message();
}

TEST_F(RemoteEmbedderTest, RetriesServerErrorsAndReportsPersistentOnes) {
  auto embedder = Make(Options());
  std::vector<float> out(32);
  standin_.Control({{"mode", "status"}, {"status", 503}, {"fail_times", 2}, {"reset_stats", true}});
  ASSERT_TRUE(embedder->Embed({"alpha"}, false, out.data()).ok());
  EXPECT_EQ(EmbeddingRequests(), 3);
  standin_.Control({{"mode", "status"}, {"status", 500}});
  Status status = embedder->Embed({"alpha"}, false, out.data());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("after 3 tries"), std::string::npos) << status.message();
  EXPECT_NE(metrics_.Render().find("lathe_embedding_errors_total{backend=\"remote:emb\",reason=\"status_5xx\"} 5"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(RemoteEmbedderTest, HangingServerIsDeadlineExceededAtTheCallTimeout) {
  RemoteEmbedderOptions options = Options();
  options.call_timeout = milliseconds(300);
  auto embedder = Make(options);
  standin_.Control({{"mode", "hang"}});
  std::vector<float> out(32);
  auto start = Clock::now();
  Status status = embedder->Embed({"alpha"}, false, out.data());
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status.ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(300 + 250));
}

TEST_F(RemoteEmbedderTest, BadResponsesNameWhatIsWrong) {
  auto embedder = Make(Options());
  std::vector<float> out(32);
  standin_.Control({{"mode", "bad_json"}});
  Status status = embedder->Embed({"alpha"}, false, out.data());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("not valid JSON"), std::string::npos) << status.message();
  standin_.Control({{"mode", "missing_fields"}});
  status = embedder->Embed({"alpha"}, false, out.data());
  EXPECT_NE(status.message().find("data[0] has no 'embedding'"), std::string::npos) << status.message();
}

TEST_F(RemoteEmbedderTest, OpenCircuitRejectsWithoutCallingTheServer) {
  RemoteEmbedderOptions options = Options();
  options.max_tries = 1;
  options.breaker_failure_threshold = 2;
  auto embedder = Make(options);
  std::vector<float> out(32);
  standin_.Control({{"mode", "status"}, {"status", 503}, {"reset_stats", true}});
  EXPECT_FALSE(embedder->Embed({"a"}, false, out.data()).ok());
  EXPECT_FALSE(embedder->Embed({"a"}, false, out.data()).ok());
  standin_.Control({{"mode", "ok"}});
  Status rejected = embedder->Embed({"a"}, false, out.data());
  EXPECT_NE(rejected.message().find("circuit open"), std::string::npos) << rejected.message();
  EXPECT_EQ(EmbeddingRequests(), 2);
  std::this_thread::sleep_for(milliseconds(320));
  EXPECT_TRUE(embedder->Embed({"a"}, false, out.data()).ok());
}

TEST(RemoteEmbedderCreate, FailsClearlyWhenTheServerIsDownAndDimIsUnknown) {
  RemoteEmbedderOptions options;
  options.base_url = "http://127.0.0.1:1/v1";
  options.call_timeout = milliseconds(1000);
  options.max_tries = 1;
  Result<std::unique_ptr<RemoteEmbedder>> embedder = RemoteEmbedder::Create(options);
  EXPECT_EQ(embedder.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(embedder.status().message().find("learning the embedding dimension"), std::string::npos);
  options.batch_size = 0;
  EXPECT_EQ(RemoteEmbedder::Create(options).status().code(), StatusCode::kInvalidArgument);
}

// An index rebuilt while the embedding server fails is searchable by BM25,
// but stores no vectors and writes no snapshot (zeros would pass for real
// vectors forever); once the server is back, the next rebuild stores them.
TEST_F(RemoteEmbedderTest, RebuildWithAFailingServerStoresNoVectors) {
  test::TempDir dir;
  auto catalog = Catalog::Open(dir.path()).value();
  CollectionInfo kb = catalog->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs;
  for (int i = 0; i < 300; ++i) {
    NewDocument d;
    d.info.doc_id = "doc" + std::to_string(i);
    d.info.title = "Doc " + std::to_string(i);
    d.info.source = d.info.doc_id;
    d.info.format = "txt";
    d.info.content_hash = "h" + std::to_string(i);
    ChunkRecord c;
    c.title = d.info.title;
    c.text = Texts(300)[static_cast<size_t>(i)];
    d.chunks.push_back(c);
    docs.push_back(std::move(d));
  }
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog->ReplaceDocuments(kb.id, &docs, &removed).ok());
  kb = catalog->GetCollection("kb").value();
  RemoteEmbedderOptions options = Options();
  options.max_tries = 1;
  std::shared_ptr<const Embedder> embedder = Make(options);
  ASSERT_NE(embedder, nullptr);
  CpuPool pool(2);
  auto stored_vectors = [&] {
    int64_t n = 0;
    EXPECT_TRUE(catalog->ScanChunks(kb.id, [&](ChunkRecord&& r) { n += r.embedding.size() == 32 ? 1 : 0; }).ok());
    return n;
  };

  standin_.Control({{"mode", "status"}, {"status", 500}});
  auto degraded = CollectionIndex::Load(catalog.get(), kb, dir.path(), embedder, IndexOptions{}, &pool);
  ASSERT_TRUE(degraded.ok()) << degraded.status().ToString();
  EXPECT_TRUE((*degraded)->vectors_missing());
  EXPECT_EQ((*degraded)->live_chunks(), 300u);
  EXPECT_EQ(stored_vectors(), 0);
  EXPECT_NE(catalog->GetCollection("kb").value().embedder, embedder->id());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/index"));

  standin_.Reset();
  // After the breaker's cool-down (300 ms) one trial call closes it.
  std::this_thread::sleep_for(milliseconds(400));
  std::vector<float> probe(32);
  ASSERT_TRUE(embedder->Embed({"probe"}, false, probe.data()).ok());
  auto healthy = CollectionIndex::Load(catalog.get(), catalog->GetCollection("kb").value(), dir.path(), embedder,
                                       IndexOptions{}, &pool);
  ASSERT_TRUE(healthy.ok()) << healthy.status().ToString();
  EXPECT_FALSE((*healthy)->vectors_missing());
  EXPECT_EQ(stored_vectors(), 300);
  EXPECT_EQ(catalog->GetCollection("kb").value().embedder, embedder->id());
}

}  // namespace
}  // namespace lathe::rag
