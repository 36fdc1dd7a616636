// Tests for the Retriever over a CollectionIndex built through a Catalog:
// data-driven top-1 cases (tests/data/retrieval_cases.txt), one hit per
// document, and filters applied inside the searches.
#include "rag/retrieve/retriever.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rag/answer/evidence.h"
#include "rag/embed/hashing_embedder.h"
#include "rag/index/catalog.h"
#include "rag/index/collection_index.h"

namespace lathe::rag {
namespace {

namespace fs = std::filesystem;

struct QueryCase {
  int line = 0;
  RetrieverKind kind = RetrieverKind::kBm25;
  std::string expected;
  std::string query;
};

struct Cases {
  std::vector<NewDocument> docs;
  std::vector<QueryCase> queries;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitBars(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '|')) out.push_back(Trim(part));
  return out;
}

NewDocument MakeDoc(const std::string& id, const std::string& title, const std::vector<std::string>& chunk_texts) {
  NewDocument doc;
  doc.info.doc_id = id;
  doc.info.title = title;
  doc.info.source = id;
  doc.info.format = "txt";
  doc.info.content_hash = "h-" + id;
  for (const std::string& text : chunk_texts) {
    ChunkRecord chunk;
    chunk.title = title;
    chunk.text = text;
    doc.chunks.push_back(chunk);
  }
  return doc;
}

Cases LoadCases() {
  const std::string path = std::string(LATHE_SOURCE_DIR) + "/tests/data/retrieval_cases.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  Cases cases;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = SplitBars(line);
    std::istringstream head(parts[0]);
    std::string keyword;
    head >> keyword;
    if (keyword == "doc" && parts.size() == 3) {
      std::string id;
      head >> id;
      cases.docs.push_back(MakeDoc(id, parts[1], {parts[2]}));
    } else if (keyword == "query" && parts.size() == 2) {
      QueryCase q;
      q.line = line_no;
      std::string kind;
      head >> kind >> q.expected;
      auto parsed = ParseRetriever(kind);
      EXPECT_TRUE(parsed.ok()) << path << ":" << line_no << ": " << parsed.status().ToString();
      if (parsed.ok()) q.kind = parsed.value();
      q.query = parts[1];
      cases.queries.push_back(q);
    } else {
      ADD_FAILURE() << path << ":" << line_no << ": cannot parse: " << line;
    }
  }
  return cases;
}

// A catalog in a fresh temp dir and a CollectionIndex rebuilt from it with the
// hashing embedder.
class RetrieverTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    dir_ = temp_.path();
    auto catalog = Catalog::Open(dir_);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog.value());
    HashingEmbedderOptions options;
    options.dim = 256;
    embedder_ = std::make_shared<HashingEmbedder>(options);
  }
  void TearDown() override {
    index_.reset();
    catalog_.reset();
  }

  void Build(std::vector<NewDocument> docs) {
    CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
    std::vector<int64_t> removed;
    ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());
    kb = catalog_->GetCollection("kb").value();
    auto index = CollectionIndex::Rebuild(catalog_.get(), kb, embedder_, IndexOptions{}, &pool_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index.value());
    ASSERT_EQ(index_->live_chunks(), static_cast<size_t>(kb.chunks));
  }

  static std::vector<std::string> DocIds(const std::vector<Hit>& hits) {
    std::vector<std::string> out;
    for (const Hit& h : hits) out.push_back(h.doc_id);
    return out;
  }

  test::TempDir temp_;  // removed with the fixture
  std::string dir_;
  CpuPool pool_{2};
  std::unique_ptr<Catalog> catalog_;
  std::shared_ptr<const Embedder> embedder_;
  std::unique_ptr<CollectionIndex> index_;
};

TEST_F(RetrieverTest, DataDrivenTopHit) {
  Cases cases = LoadCases();
  ASSERT_GE(cases.docs.size(), 10u);
  ASSERT_GE(cases.queries.size(), 10u);
  Build(cases.docs);
  Retriever retriever(index_.get(), &pool_);
  for (const QueryCase& q : cases.queries) {
    RetrieveOptions options;
    options.kind = q.kind;
    options.k = 5;
    std::vector<Hit> hits = retriever.Search(q.query, options);
    ASSERT_FALSE(hits.empty()) << "line " << q.line << ": no hits for '" << q.query << "'";
    EXPECT_EQ(hits[0].doc_id, q.expected)
        << "line " << q.line << " (" << RetrieverName(q.kind) << "): '" << q.query
        << "' ranked: " << testing::PrintToString(DocIds(hits));
  }
}

TEST_F(RetrieverTest, HitsCarryBranchRanksAndScoresDescend) {
  Build(LoadCases().docs);
  Retriever retriever(index_.get(), nullptr);  // sequential hybrid
  RetrieveOptions options;
  options.k = 5;
  std::vector<Hit> hits = retriever.Search("reader battery charging", options);
  ASSERT_EQ(hits.size(), 5u);
  EXPECT_EQ(hits[0].doc_id, "reader-battery");
  EXPECT_EQ(hits[0].bm25_rank, 1);
  EXPECT_GT(hits[0].vector_rank, 0);
  for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  // The parallel path gives the same answer.
  Retriever parallel(index_.get(), &pool_);
  std::vector<Hit> again = parallel.Search("reader battery charging", options);
  ASSERT_EQ(again.size(), hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(again[i].chunk_id, hits[i].chunk_id);
    EXPECT_FLOAT_EQ(again[i].score, hits[i].score);
  }
}

TEST_F(RetrieverTest, OnePerDocumentCollapsesChunks) {
  std::vector<NewDocument> docs = {
      MakeDoc("warranty-guide", "Warranty guide",
              {"The warranty covers the reader for two years.", "To claim the warranty, contact support.",
               "Warranty repairs take five days; the warranty does not cover water damage."}),
      MakeDoc("returns", "Returns", {"Returns outside the warranty period are refused."}),
      MakeDoc("other", "Something else", {"Nothing to see here about invoices."}),
  };
  Build(docs);
  Retriever retriever(index_.get(), &pool_);
  for (RetrieverKind kind : {RetrieverKind::kBm25, RetrieverKind::kHybrid}) {
    RetrieveOptions options;
    options.kind = kind;
    options.k = 10;
    std::vector<Hit> all = retriever.Search("warranty", options);
    std::multiset<std::string> per_doc;
    for (const Hit& h : all) per_doc.insert(h.doc_id);
    EXPECT_EQ(per_doc.count("warranty-guide"), 3u) << RetrieverName(kind);

    options.one_per_document = true;
    std::vector<Hit> collapsed = retriever.Search("warranty", options);
    std::vector<std::string> ids = DocIds(collapsed);
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size()) << testing::PrintToString(ids);
    EXPECT_TRUE(unique.count("warranty-guide"));
    EXPECT_TRUE(unique.count("returns"));
    // The kept chunk is the document's best one: the first warranty-guide hit of the full list.
    for (const Hit& h : all) {
      if (h.doc_id == "warranty-guide") {
        EXPECT_EQ(collapsed[0].doc_id == "warranty-guide" ? collapsed[0].chunk_id : collapsed[1].chunk_id,
                  h.chunk_id);
        break;
      }
    }
    options.k = 1;
    ASSERT_EQ(retriever.Search("warranty", options).size(), 1u);
  }
}

TEST_F(RetrieverTest, FilterRestrictsResultsInsideTheSearch) {
  Build(LoadCases().docs);
  Retriever retriever(index_.get(), &pool_);
  const std::set<std::string> allowed_docs = {"tax-rates", "data-export", "shipping-times"};
  std::vector<uint8_t> allowed =
      index_->MakeFilter([&](const std::string& doc_id) { return allowed_docs.count(doc_id) > 0; });
  ASSERT_EQ(allowed.size(), index_->bm25().slots());

  // Unfiltered, "invoice template" is led by a document the filter excludes.
  RetrieveOptions options;
  options.kind = RetrieverKind::kBm25;
  options.k = 2;
  std::vector<Hit> unfiltered = retriever.Search("invoices template", options);
  ASSERT_FALSE(unfiltered.empty());
  EXPECT_EQ(unfiltered[0].doc_id, "invoice-templates");

  options.allowed = allowed.data();
  for (RetrieverKind kind : {RetrieverKind::kBm25, RetrieverKind::kVector, RetrieverKind::kHybrid}) {
    options.kind = kind;
    std::vector<Hit> hits = retriever.Search("invoices template", options);
    // Two allowed documents mention invoices, so k = 2 results come back.
    ASSERT_EQ(hits.size(), 2u) << RetrieverName(kind) << ": " << testing::PrintToString(DocIds(hits));
    for (const Hit& h : hits) EXPECT_TRUE(allowed_docs.count(h.doc_id)) << RetrieverName(kind) << ": " << h.doc_id;
    if (kind == RetrieverKind::kBm25) {
      EXPECT_EQ((std::set<std::string>{hits[0].doc_id, hits[1].doc_id}),
                (std::set<std::string>{"tax-rates", "data-export"}));
    }
  }
}

TEST_F(RetrieverTest, RemovedChunksAreNotReturned) {
  Build(LoadCases().docs);
  Retriever retriever(index_.get(), &pool_);
  RetrieveOptions options;
  options.k = 12;
  std::vector<Hit> before = retriever.Search("forgot password reset", options);
  ASSERT_FALSE(before.empty());
  ASSERT_EQ(before[0].doc_id, "reset-password");
  index_->Remove(before[0].chunk_id);
  for (RetrieverKind kind : {RetrieverKind::kBm25, RetrieverKind::kVector, RetrieverKind::kHybrid}) {
    options.kind = kind;
    for (const Hit& h : retriever.Search("forgot password reset", options)) {
      EXPECT_NE(h.doc_id, "reset-password") << RetrieverName(kind);
    }
  }
}

TEST(ParseRetriever, NamesRoundTrip) {
  for (RetrieverKind kind : {RetrieverKind::kBm25, RetrieverKind::kVector, RetrieverKind::kHybrid}) {
    auto parsed = ParseRetriever(RetrieverName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value(), kind);
  }
  EXPECT_EQ(ParseRetriever("dense").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lathe::rag

namespace lathe::rag {
namespace {

// The abstention score read from the BM25 postings equals the score from
// analysing the passages' text again, for every sample query.
TEST_F(RetrieverTest, EvidenceFromPostingsEqualsEvidenceFromAnalysis) {
  Cases cases = LoadCases();
  Build(cases.docs);
  Retriever retriever(index_.get(), &pool_);
  int nonzero = 0;
  for (const QueryCase& q : cases.queries) {
    RetrieveOptions options;
    options.k = 5;
    std::vector<Hit> hits = retriever.Search(q.query, options);
    std::vector<int64_t> ids;
    for (const Hit& h : hits) ids.push_back(h.chunk_id);
    auto chunks = catalog_->GetChunks(ids);
    ASSERT_TRUE(chunks.ok());
    std::vector<Passage> passages;
    for (const ChunkRecord& c : *chunks) {
      passages.push_back(Passage{static_cast<int>(passages.size()) + 1, c.id, c.doc_id, c.title, c.text, 0});
    }
    std::vector<std::string> terms = retriever.AnalyzeQuery(q.query);
    float analysed = EvidenceScore(index_->bm25(), index_->analyzer(), terms, passages);
    float postings = EvidenceScore(*index_, terms, passages);
    EXPECT_FLOAT_EQ(postings, analysed) << q.query;
    nonzero += analysed > 0;
  }
  EXPECT_GT(nonzero, 0);
}

}  // namespace
}  // namespace lathe::rag
