// Tests for the Catalog: collections, document replacement, chunk ids,
// generations, persistence across reopen, and stored embeddings.
#include "rag/index/catalog.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace lathe::rag {
namespace {

namespace fs = std::filesystem;

class CatalogTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    dir_ = temp_.path();
    Open();
  }
  void TearDown() override {
    catalog_.reset();
  }
  void Open() {
    catalog_.reset();
    auto opened = Catalog::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened.value());
  }

  static NewDocument Doc(const std::string& doc_id, const std::vector<std::string>& chunk_texts) {
    NewDocument doc;
    doc.info.doc_id = doc_id;
    doc.info.title = "Title of " + doc_id;
    doc.info.source = "/src/" + doc_id;
    doc.info.format = "md";
    doc.info.content_hash = "hash-" + doc_id + "-" + std::to_string(chunk_texts.size());
    for (const std::string& text : chunk_texts) {
      ChunkRecord chunk;
      chunk.title = doc.info.title;
      chunk.text = text;
      doc.chunks.push_back(chunk);
    }
    return doc;
  }

  std::vector<ChunkRecord> Scan(int64_t collection_id) {
    std::vector<ChunkRecord> out;
    Status st = catalog_->ScanChunks(collection_id, [&](ChunkRecord&& r) { out.push_back(std::move(r)); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  CollectionInfo Collection(const std::string& name = "kb") {
    auto c = catalog_->GetCollection(name);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c.value() : CollectionInfo{};
  }

  test::TempDir temp_;  // removed with the fixture
  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, EnsureCollectionCreatesOnce) {
  EXPECT_EQ(catalog_->GetCollection("kb").status().code(), StatusCode::kNotFound);
  auto first = catalog_->EnsureCollection("kb", "tenant-a");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GT(first->id, 0);
  EXPECT_EQ(first->name, "kb");
  EXPECT_EQ(first->tenant, "tenant-a");
  EXPECT_EQ(first->generation, 0);
  EXPECT_EQ(first->documents, 0);

  auto second = catalog_->EnsureCollection("kb", "tenant-b");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->tenant, "tenant-a");  // an existing collection keeps its tenant

  auto other = catalog_->EnsureCollection("other", "");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, first->id);
  auto all = catalog_->ListCollections();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "kb");
  EXPECT_EQ((*all)[1].name, "other");

  EXPECT_EQ(catalog_->EnsureCollection("", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->EnsureCollection(std::string(129, 'x'), "").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CatalogTest, ReplaceDocumentsAssignsChunkIdsAndBumpsGeneration) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"alpha one", "alpha two"}), Doc("b.md", {"beta one"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());
  EXPECT_TRUE(removed.empty());

  std::set<int64_t> ids;
  for (const NewDocument& d : docs) {
    EXPECT_EQ(d.info.chunks, static_cast<int64_t>(d.chunks.size()));
    EXPECT_FALSE(d.info.ingested_at.empty());
    for (size_t i = 0; i < d.chunks.size(); ++i) {
      EXPECT_GT(d.chunks[i].id, 0);
      EXPECT_EQ(d.chunks[i].ordinal, static_cast<int>(i));
      EXPECT_EQ(d.chunks[i].doc_id, d.info.doc_id);
      ids.insert(d.chunks[i].id);
    }
  }
  EXPECT_EQ(ids.size(), 3u);

  CollectionInfo after = Collection();
  EXPECT_EQ(after.generation, kb.generation + 1);
  EXPECT_EQ(after.documents, 2);
  EXPECT_EQ(after.chunks, 3);

  std::vector<ChunkRecord> chunks = Scan(kb.id);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].id, docs[0].chunks[0].id);
  EXPECT_EQ(chunks[0].doc_id, "a.md");
  EXPECT_EQ(chunks[0].text, "alpha one");
  EXPECT_EQ(chunks[0].title, "Title of a.md");
  EXPECT_TRUE(chunks[0].embedding.empty());
  EXPECT_EQ(chunks[2].doc_id, "b.md");

  auto listed = catalog_->ListDocuments(kb.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].doc_id, "a.md");
  EXPECT_EQ((*listed)[0].chunks, 2);
  EXPECT_EQ((*listed)[0].source, "/src/a.md");
  EXPECT_EQ((*listed)[0].format, "md");
}

TEST_F(CatalogTest, ReplacingADocumentRemovesItsOldChunks) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"old one", "old two"}), Doc("b.md", {"beta"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());
  std::vector<int64_t> old_ids = {docs[0].chunks[0].id, docs[0].chunks[1].id};
  const int64_t beta_id = docs[1].chunks[0].id;

  std::vector<NewDocument> update = {Doc("a.md", {"new only"})};
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &update, &removed).ok());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, old_ids);
  // Chunk ids are never reused.
  EXPECT_GT(update[0].chunks[0].id, *std::max_element(old_ids.begin(), old_ids.end()));

  std::vector<ChunkRecord> chunks = Scan(kb.id);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].id, beta_id);
  EXPECT_EQ(chunks[1].id, update[0].chunks[0].id);
  EXPECT_EQ(chunks[1].text, "new only");

  CollectionInfo after = Collection();
  EXPECT_EQ(after.generation, 2);
  EXPECT_EQ(after.documents, 2);
  EXPECT_EQ(after.chunks, 2);
  auto hash = catalog_->DocumentHash(kb.id, "a.md");
  ASSERT_TRUE(hash.ok());
  ASSERT_TRUE(hash->has_value());
  EXPECT_EQ(**hash, "hash-a.md-1");
}

TEST_F(CatalogTest, DeleteDocument) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"one", "two"}), Doc("b.md", {"three"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());

  Status missing = catalog_->DeleteDocument(kb.id, "nope.md", &removed);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("nope.md"), std::string::npos);
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(Collection().generation, 1);  // a failed delete changes nothing

  ASSERT_TRUE(catalog_->DeleteDocument(kb.id, "a.md", &removed).ok());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<int64_t>{docs[0].chunks[0].id, docs[0].chunks[1].id}));
  EXPECT_EQ(Collection().generation, 2);
  EXPECT_EQ(Collection().documents, 1);
  EXPECT_FALSE(catalog_->DocumentHash(kb.id, "a.md")->has_value());
  EXPECT_EQ(catalog_->DeleteDocument(kb.id, "a.md", &removed).code(), StatusCode::kNotFound);
  ASSERT_EQ(Scan(kb.id).size(), 1u);
}

TEST_F(CatalogTest, DocumentsAreScopedToTheirCollection) {
  CollectionInfo a = catalog_->EnsureCollection("a", "").value();
  CollectionInfo b = catalog_->EnsureCollection("b", "").value();
  std::vector<NewDocument> da = {Doc("same.md", {"in a"})};
  std::vector<NewDocument> db = {Doc("same.md", {"in b"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(a.id, &da, &removed).ok());
  ASSERT_TRUE(catalog_->ReplaceDocuments(b.id, &db, &removed).ok());
  EXPECT_TRUE(removed.empty());
  ASSERT_EQ(Scan(a.id).size(), 1u);
  EXPECT_EQ(Scan(a.id)[0].text, "in a");
  EXPECT_EQ(Scan(b.id)[0].text, "in b");
  EXPECT_EQ(Collection("b").generation, 1);
}

TEST_F(CatalogTest, CheckConsistencyPasses) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"one", "two"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());
  ASSERT_TRUE(catalog_->DeleteDocument(kb.id, "a.md", &removed).ok());
  Status st = catalog_->CheckConsistency();
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(CatalogTest, ReopeningKeepsData) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "tenant").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"one", "two"}), Doc("b.md", {"three"})};
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());
  ASSERT_TRUE(catalog_->SetCollectionEmbedder(kb.id, "hash-v1").ok());

  Open();
  CollectionInfo reopened = Collection();
  EXPECT_EQ(reopened.id, kb.id);
  EXPECT_EQ(reopened.tenant, "tenant");
  EXPECT_EQ(reopened.generation, 1);
  EXPECT_EQ(reopened.embedder, "hash-v1");
  EXPECT_EQ(reopened.documents, 2);
  EXPECT_EQ(reopened.chunks, 3);
  std::vector<ChunkRecord> chunks = Scan(kb.id);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].id, docs[0].chunks[1].id);
  EXPECT_EQ(chunks[1].text, "two");
  EXPECT_EQ(**catalog_->DocumentHash(kb.id, "b.md"), "hash-b.md-1");
  EXPECT_TRUE(catalog_->CheckConsistency().ok());

  auto got = catalog_->GetChunks({docs[1].chunks[0].id, 999999, docs[0].chunks[0].id});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);  // missing ids are skipped, order is as asked
  EXPECT_EQ((*got)[0].text, "three");
  EXPECT_EQ((*got)[1].text, "one");
}

TEST_F(CatalogTest, UpdateEmbeddingsRoundTripThroughScanChunks) {
  CollectionInfo kb = catalog_->EnsureCollection("kb", "").value();
  std::vector<NewDocument> docs = {Doc("a.md", {"one", "two"}), Doc("b.md", {"three"})};
  docs[1].chunks[0].embedding = {9.0f, 9.0f, 9.0f, 9.0f};  // stored at insert
  std::vector<int64_t> removed;
  ASSERT_TRUE(catalog_->ReplaceDocuments(kb.id, &docs, &removed).ok());

  const std::vector<float> v0 = {0.5f, -0.5f, 0.25f, 1e-7f};
  const std::vector<float> v1 = {1.0f, 0.0f, -3.5f, 42.0f};
  ASSERT_TRUE(catalog_->UpdateEmbeddings(kb.id, "test-embedder-d4",
                                         {{docs[0].chunks[0].id, v0.data()}, {docs[0].chunks[1].id, v1.data()}}, 4)
                  .ok());
  CollectionInfo after = Collection();
  EXPECT_EQ(after.embedder, "test-embedder-d4");
  EXPECT_EQ(after.generation, 1);  // unchanged by UpdateEmbeddings

  Open();  // and durable
  std::vector<ChunkRecord> chunks = Scan(kb.id);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].embedding, v0);
  EXPECT_EQ(chunks[1].embedding, v1);
  EXPECT_EQ(chunks[2].embedding, (std::vector<float>{9.0f, 9.0f, 9.0f, 9.0f}));
}

}  // namespace
}  // namespace lathe::rag
