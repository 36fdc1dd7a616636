#include "rag/index/collection_index.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/binary_io.h"
#include "common/logging.h"
#include "common/snapshot_file.h"

namespace lathe::rag {

AnalyzedChunk AnalyzeChunk(const text::Analyzer& analyzer, const std::string& title, const std::string& text) {
  AnalyzedChunk out;
  analyzer.Analyze(title, &out.title_terms);
  analyzer.Analyze(text, &out.body_terms);
  return out;
}

CollectionIndex::CollectionIndex(std::shared_ptr<const Embedder> embedder, const IndexOptions& options)
    : embedder_(std::move(embedder)), options_(options), bm25_(options.bm25), vectors_(embedder_->dim(), options.vector) {}

std::string CollectionIndex::SnapshotPath(const std::string& data_dir, int64_t collection_id) {
  return data_dir + "/index/collection-" + std::to_string(collection_id) + ".snap";
}

std::string CollectionIndex::SettingsKey() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "analyzer=en-snowball-v1;bm25=%.3f,%.3f,%.3f;ivf=%zu,%d;embedder=",
                options_.bm25.k1, options_.bm25.b, options_.bm25.title_boost, options_.vector.ann_threshold,
                options_.vector.ivf_cells_per_sqrt);
  return buf + embedder_->id();
}

void CollectionIndex::Add(int64_t chunk_id, const std::string& doc_id, const AnalyzedChunk& terms,
                          const float* embedding) {
  Remove(chunk_id);
  uint32_t slot = bm25_.Add(terms.title_terms, terms.body_terms);
  vectors_.Add(embedding, 1);
  slot_chunk_.push_back(chunk_id);
  slot_doc_.push_back(doc_id);
  chunk_slot_[chunk_id] = slot;
}

void CollectionIndex::Remove(int64_t chunk_id) {
  auto it = chunk_slot_.find(chunk_id);
  if (it == chunk_slot_.end()) return;
  bm25_.Remove(it->second);
  vectors_.Remove(it->second);
  chunk_slot_.erase(it);
}

void CollectionIndex::CompactIfWasteful() {
  const size_t slots = slot_chunk_.size();
  if (slots <= 64 || live_chunks() * 4 >= slots * 3) return;
  std::vector<uint32_t> new_slot(slots, 0);
  std::vector<int64_t> slot_chunk;
  std::vector<std::string> slot_doc;
  for (uint32_t s = 0; s < slots; ++s) {
    if (!bm25_.alive(s)) continue;
    new_slot[s] = static_cast<uint32_t>(slot_chunk.size());
    slot_chunk.push_back(slot_chunk_[s]);
    slot_doc.push_back(std::move(slot_doc_[s]));
  }
  bm25_.Compact(new_slot);
  vectors_.Compact();
  slot_chunk_ = std::move(slot_chunk);
  slot_doc_ = std::move(slot_doc);
  chunk_slot_.clear();
  for (uint32_t s = 0; s < slot_chunk_.size(); ++s) chunk_slot_[slot_chunk_[s]] = s;
}

std::vector<uint8_t> CollectionIndex::MakeFilter(const std::function<bool(const std::string&)>& pred) const {
  std::vector<uint8_t> allowed(slot_chunk_.size(), 0);
  for (const auto& [chunk, slot] : chunk_slot_) allowed[slot] = pred(slot_doc_[slot]) ? 1 : 0;
  return allowed;
}

Status CollectionIndex::Save(const std::string& data_dir, int64_t collection_id, int64_t generation) const {
  if (vectors_missing_) return FailedPrecondition("some chunks have no vectors yet (the embedder failed); not saved");
  auto t0 = std::chrono::steady_clock::now();
  auto since = [&t0] {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return s;
  };
  BinaryWriter w;
  w.PutArray(slot_chunk_);
  w.Put<uint64_t>(slot_doc_.size());
  for (const std::string& d : slot_doc_) w.PutString(d);
  bm25_.Serialize(&w);
  double bm25_s = since();
  vectors_.Serialize(&w);
  LOG_DEBUG("snapshot: serialised BM25 in {:.3f} s, vectors in {:.3f} s ({} bytes)", bm25_s, since(), w.size());
  SnapshotHeader header;
  header.version = kSnapshotVersion;
  header.generation = static_cast<uint64_t>(generation);
  header.settings = SettingsKey();
  Status st = WriteSnapshot(SnapshotPath(data_dir, collection_id), header, w.pieces());
  LOG_DEBUG("snapshot: checksummed and wrote in {:.3f} s", since());
  return st;
}

Status CollectionIndex::Deserialize(const std::string& payload) {
  BinaryReader r(payload);
  uint64_t docs = 0;
  if (!r.GetArray(&slot_chunk_) || !r.Get(&docs) || docs != slot_chunk_.size()) {
    return Corruption("slot table truncated");
  }
  slot_doc_.resize(docs);
  for (auto& d : slot_doc_) {
    if (!r.GetString(&d)) return Corruption("slot table truncated");
  }
  LATHE_RETURN_IF_ERROR(bm25_.Deserialize(&r));
  LATHE_RETURN_IF_ERROR(vectors_.Deserialize(&r));
  if (bm25_.slots() != slot_chunk_.size() || vectors_.slots() != slot_chunk_.size() || r.remaining() != 0) {
    return Corruption("index parts disagree on the number of slots");
  }
  if (!(bm25_.params() == options_.bm25)) return Corruption("bm25 parameters differ");
  chunk_slot_.clear();
  for (uint32_t s = 0; s < slot_chunk_.size(); ++s) {
    if (bm25_.alive(s)) chunk_slot_[slot_chunk_[s]] = s;
  }
  return Status::OK();
}

Result<std::unique_ptr<CollectionIndex>> CollectionIndex::Rebuild(Catalog* catalog, const CollectionInfo& collection,
                                                                  std::shared_ptr<const Embedder> embedder,
                                                                  const IndexOptions& options, CpuPool* pool) {
  std::unique_ptr<CollectionIndex> index(new CollectionIndex(embedder, options));
  std::vector<ChunkRecord> chunks;
  LATHE_RETURN_IF_ERROR(catalog->ScanChunks(collection.id, [&](ChunkRecord&& r) { chunks.push_back(std::move(r)); }));
  const size_t dim = static_cast<size_t>(embedder->dim());
  const bool reuse_vectors = collection.embedder == embedder->id();
  std::vector<AnalyzedChunk> analyzed(chunks.size());
  std::vector<float> vectors(chunks.size() * dim);
  size_t reembedded = 0;
  std::vector<uint8_t> needs_embedding(chunks.size(), 0);
  for (size_t i = 0; i < chunks.size(); ++i) {
    needs_embedding[i] = !(reuse_vectors && chunks[i].embedding.size() == dim);
    reembedded += needs_embedding[i];
  }
  // Embedders that work on analysed terms (LSA) embed during analysis; the
  // others (hashing, remote) get the chunks' texts in blocks, so a remote
  // embedder batches its requests.
  std::vector<uint8_t> needs_text(chunks.size(), 0);
  auto work = [&](size_t i) {
    analyzed[i] = AnalyzeChunk(index->analyzer_, chunks[i].title, chunks[i].text);
    float* out = vectors.data() + i * dim;
    if (needs_embedding[i]) {
      needs_text[i] = !embedder->EmbedAnalyzed(analyzed[i].title_terms, analyzed[i].body_terms, out);
    } else {
      std::memcpy(out, chunks[i].embedding.data(), dim * sizeof(float));
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(chunks.size(), work, 16);
  } else {
    for (size_t i = 0; i < chunks.size(); ++i) work(i);
  }
  std::vector<size_t> text_rows;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (needs_text[i]) text_rows.push_back(i);
  }
  constexpr size_t kBlock = 256;
  const size_t blocks = (text_rows.size() + kBlock - 1) / kBlock;
  std::vector<Status> block_status(blocks);
  auto embed_block = [&](size_t b) {
    const size_t begin = b * kBlock, end = std::min(text_rows.size(), begin + kBlock);
    std::vector<std::string> texts;
    for (size_t r = begin; r < end; ++r) texts.push_back(EmbeddingText(chunks[text_rows[r]].title, chunks[text_rows[r]].text));
    std::vector<float> out(texts.size() * dim);
    block_status[b] = embedder->Embed(texts, false, out.data());
    if (!block_status[b].ok()) return;
    for (size_t r = begin; r < end; ++r) {
      std::memcpy(vectors.data() + text_rows[r] * dim, out.data() + (r - begin) * dim, dim * sizeof(float));
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(blocks, embed_block, 1);
  } else {
    for (size_t b = 0; b < blocks; ++b) embed_block(b);
  }
  Status embedded;
  for (const Status& st : block_status) {
    if (!st.ok()) {
      embedded = st;
      break;
    }
  }
  if (!embedded.ok()) {
    // Searchable by BM25 now; the vectors are not stored (zeros would pass for
    // real ones), so the next load tries again.
    LOG_WARN("collection '{}': embedding {} chunks with {} failed, vector search is degraded until a later load: {}",
             collection.name, text_rows.size(), embedder->id(), embedded.ToString());
    for (size_t r : text_rows) std::fill_n(vectors.data() + r * dim, dim, 0.0f);
    index->vectors_missing_ = true;
  } else if (reembedded > 0) {
    LOG_INFO("collection '{}': embedded {} of {} chunks with {} (stored vectors missing or from '{}')",
             collection.name, reembedded, chunks.size(), embedder->id(), collection.embedder);
    std::vector<std::pair<int64_t, const float*>> updates;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (needs_embedding[i]) updates.emplace_back(chunks[i].id, vectors.data() + i * dim);
    }
    Status st = catalog->UpdateEmbeddings(collection.id, embedder->id(), updates, embedder->dim());
    if (!st.ok()) LOG_WARN("collection '{}': could not store new vectors: {}", collection.name, st.message());
  } else if (collection.embedder != embedder->id()) {
    LATHE_RETURN_IF_ERROR(catalog->SetCollectionEmbedder(collection.id, embedder->id()));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    index->Add(chunks[i].id, chunks[i].doc_id, analyzed[i], vectors.data() + i * dim);
  }
  index->Optimize();
  return index;
}

Result<std::unique_ptr<CollectionIndex>> CollectionIndex::Load(Catalog* catalog, const CollectionInfo& collection,
                                                               const std::string& data_dir,
                                                               std::shared_ptr<const Embedder> embedder,
                                                               const IndexOptions& options, CpuPool* pool) {
  std::string path = SnapshotPath(data_dir, collection.id);
  std::unique_ptr<CollectionIndex> index(new CollectionIndex(embedder, options));
  SnapshotHeader header;
  std::string payload;
  Status st = ReadSnapshot(path, &header, &payload);
  std::string why;
  if (!st.ok()) {
    why = st.code() == StatusCode::kNotFound ? "no snapshot yet" : st.message();
  } else if (header.version != kSnapshotVersion) {
    why = "snapshot format version " + std::to_string(header.version) + " (expected " +
          std::to_string(kSnapshotVersion) + ")";
  } else if (header.generation != static_cast<uint64_t>(collection.generation)) {
    why = "snapshot is stale (generation " + std::to_string(header.generation) + ", catalog at " +
          std::to_string(collection.generation) + ")";
  } else if (header.settings != index->SettingsKey()) {
    why = "snapshot was built with other settings";
  } else if (Status ds = index->Deserialize(payload); !ds.ok()) {
    why = path + ": " + ds.message();
  } else {
    index->CompactIfWasteful();  // a snapshot from before compaction on save
    index->loaded_from_snapshot_ = true;
    return index;
  }
  if (collection.chunks > 0) {
    LOG_INFO("collection '{}': rebuilding index from the catalog: {}", collection.name, why);
  }
  LATHE_ASSIGN_OR_RETURN(index, Rebuild(catalog, collection, embedder, options, pool));
  Status save = index->Save(data_dir, collection.id, collection.generation);
  if (!save.ok()) LOG_WARN("collection '{}': could not write snapshot: {}", collection.name, save.message());
  return index;
}

}  // namespace lathe::rag
