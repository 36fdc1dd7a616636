#include "rag/ingest/ingester.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <unordered_map>

#include <sys/resource.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/ordered_worker.h"
#include "rag/ingest/loaders.h"

namespace lathe::rag {
namespace fs = std::filesystem;
namespace {

// One unit of work: a file to load, or a document already parsed from JSONL.
struct WorkItem {
  std::string path;     // file path (for messages)
  std::string doc_id;   // for files: path relative to the ingest root
  std::string format;
  bool preparsed = false;
  ParsedDocument doc;   // when preparsed
  std::string hash;     // when preparsed: hash of the source line
  // Filled by the parallel stage:
  Status status;
  bool unchanged = false;
  bool existed = false;
  bool prepared = false;
  NewDocument result;
  std::vector<AnalyzedChunk> analyzed;
};

// What, besides the bytes, decides a document's chunks: re-ingesting with other
// chunker settings is a change.
std::string SettingsFingerprint(const IngestOptions& o) {
  return "chunker=" + std::to_string(o.chunker.max_words) + "/" + std::to_string(o.chunker.overlap_words);
}

// CPU seconds used by the whole process so far. Phase logs show it beside the
// wall time: on a shared machine the ratio (cores kept busy) is steadier
// than the wall time alone.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

bool IsHidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

}  // namespace

Result<IngestReport> Ingester::Ingest(const std::vector<std::string>& paths, const IngestOptions& options,
                                      const std::function<void(const std::string&, const std::string&)>& on_error,
                                      const std::function<void(const std::vector<std::string>&)>& on_commit) {
  IngestReport report;
  auto started = std::chrono::steady_clock::now();
  double started_cpu = ProcessCpuSeconds();
  auto phase = [&](const char* what) {
    auto now = std::chrono::steady_clock::now();
    double cpu = ProcessCpuSeconds();
    LOG_DEBUG("ingest: {} in {:.3f} s ({:.3f} s CPU)", what, std::chrono::duration<double>(now - started).count(),
              cpu - started_cpu);
    started = now;
    started_cpu = cpu;
  };
  LATHE_ASSIGN_OR_RETURN(CollectionInfo collection, catalog_->EnsureCollection(options.collection, options.tenant));
  LATHE_ASSIGN_OR_RETURN(std::shared_ptr<const Embedder> embedder, embedders_->ForCollection(catalog_, collection));
  LATHE_ASSIGN_OR_RETURN(auto existing_docs, catalog_->ListDocuments(collection.id));
  std::unordered_map<std::string, std::string> known_hash;
  for (const DocumentInfo& d : existing_docs) known_hash[d.doc_id] = d.content_hash;
  const std::string fingerprint = SettingsFingerprint(options);

  // 1. Expand paths into work items (JSONL corpora are parsed here, line by line).
  std::vector<WorkItem> items;
  auto add_file = [&](const fs::path& file, const fs::path& root) {
    ++report.files;
    std::string format = FormatForPath(file.string());
    if (format.empty()) {
      ++report.failed;
      on_error(file.string(), "unsupported file type '" + file.extension().string() +
                                  "' (expected .md, .html, .txt, .pdf or .jsonl)");
      return;
    }
    if (format == "jsonl") {
      auto data = ReadFile(file.string(), options.max_file_bytes * 64);
      if (!data.ok()) {
        ++report.failed;
        on_error(file.string(), data.status().message());
        return;
      }
      // Parse pieces of about 1 MiB (cut at line ends) on the pool; keep file order.
      std::string_view all = *data;
      std::vector<std::pair<size_t, size_t>> pieces;  // byte offset, first line number
      for (size_t pos = 0, line = 1; pos < all.size();) {
        size_t end = std::min(all.size(), pos + (1u << 20));
        end = end == all.size() ? end : all.find('\n', end);
        end = end == std::string_view::npos ? all.size() : end + 1;
        pieces.emplace_back(pos, line);
        line += static_cast<size_t>(std::count(all.begin() + static_cast<std::ptrdiff_t>(pos),
                                               all.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
        pos = end;
      }
      struct Piece {
        std::vector<WorkItem> items;
        std::vector<std::pair<size_t, std::string>> errors;
      };
      std::vector<Piece> parsed(pieces.size());
      pool_->ParallelFor(pieces.size(), [&](size_t p) {
        size_t begin = pieces[p].first;
        size_t end = p + 1 < pieces.size() ? pieces[p + 1].first : all.size();
        LoadJsonl(
            all.substr(begin, end - begin),
            [&](ParsedDocument&& doc) {
              WorkItem item;
              item.path = file.string();
              item.doc_id = doc.id;
              item.format = "jsonl";
              item.preparsed = true;
              item.hash = Sha256Hex(doc.title + "\x1f" + doc.metadata_json + "\x1f" +
                                    (doc.blocks.empty() ? "" : doc.blocks[0].text) + "\x1f" + fingerprint);
              doc.source = file.string();
              item.doc = std::move(doc);
              parsed[p].items.push_back(std::move(item));
            },
            [&](size_t line, const std::string& reason) { parsed[p].errors.emplace_back(line, reason); },
            pieces[p].second);
      });
      size_t found = 0;
      for (Piece& piece : parsed) {
        for (auto& [line, reason] : piece.errors) {
          ++report.failed;
          on_error(file.string() + ":" + std::to_string(line), reason);
        }
        found += piece.items.size();
        for (WorkItem& item : piece.items) items.push_back(std::move(item));
      }
      if (found == 0 && parsed.size() <= 1 && (parsed.empty() || parsed[0].errors.empty())) {
        ++report.failed;
        on_error(file.string(), "no documents in JSONL file");
      }
      return;
    }
    WorkItem item;
    item.path = file.string();
    std::error_code ec;
    fs::path rel = root.empty() ? file.filename() : fs::relative(file, root, ec);
    item.doc_id = (ec || rel.empty()) ? file.filename().string() : rel.generic_string();
    item.format = format;
    items.push_back(std::move(item));
  };
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      ++report.failed;
      on_error(p, "no such file or directory");
      continue;
    }
    if (fs::is_directory(st)) {
      std::vector<fs::path> files;
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        if (IsHidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_symlink() && !fs::exists(it->path(), ec)) {
          ++report.failed;
          on_error(it->path().string(), "broken symbolic link");
          ec.clear();
          continue;
        }
        if (it->is_regular_file()) files.push_back(it->path());
      }
      if (ec) on_error(p, "could not list directory completely: " + ec.message());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) add_file(f, fs::path(p));
    } else {
      add_file(fs::path(p), fs::path());
    }
  }

  // A document id given twice in one ingest: the later entry wins, the earlier
  // is reported (never silently dropped).
  {
    std::unordered_map<std::string, size_t> last;
    for (size_t i = 0; i < items.size(); ++i) {
      auto [it, inserted] = last.try_emplace(items[i].doc_id, i);
      if (!inserted) {
        WorkItem& earlier = items[it->second];
        earlier.status = InvalidArgument("duplicate document id '" + earlier.doc_id + "': replaced by " +
                                         items[i].path + (items[i].preparsed ? " (a later line)" : ""));
        earlier.prepared = true;
        it->second = i;
      }
    }
  }

  // 2. Load, chunk and analyse on all cores; 3. embed; 4. commit in order, in batches.
  text::Analyzer analyzer;
  auto prepare = [&](WorkItem& item) {
    if (item.prepared) return;
    item.prepared = true;
    ParsedDocument doc;
    std::string hash;
    if (item.preparsed) {
      doc = std::move(item.doc);
      hash = item.hash;
    } else {
      auto data = ReadFile(item.path, options.max_file_bytes);
      if (!data.ok()) {
        item.status = data.status();
        return;
      }
      hash = Sha256Hex(*data + "\x1f" + fingerprint);
      auto it = known_hash.find(item.doc_id);
      if (it != known_hash.end() && it->second == hash) {
        item.unchanged = true;
        return;
      }
      auto parsed = LoadDocument(item.format, *data);
      if (!parsed.ok()) {
        item.status = parsed.status();
        return;
      }
      doc = std::move(parsed).value();
      doc.source = item.path;
    }
    auto it = known_hash.find(item.doc_id);
    item.existed = it != known_hash.end();
    if (item.existed && it->second == hash) {
      item.unchanged = true;
      return;
    }
    doc.id = item.doc_id;
    std::vector<Chunk> chunks = ChunkDocument(doc, options.chunker);
    if (chunks.empty()) {
      item.status = InvalidArgument("no text content");
      return;
    }
    NewDocument& out = item.result;
    out.info.doc_id = item.doc_id;
    out.info.title = doc.title.empty() ? item.doc_id : doc.title;
    out.info.source = doc.source;
    out.info.format = item.format;
    out.info.content_hash = hash;
    out.info.metadata_json = doc.metadata_json;
    for (Chunk& c : chunks) {
      item.analyzed.push_back(AnalyzeChunk(analyzer, c.title, c.text));
      ChunkRecord r;
      r.title = std::move(c.title);
      r.text = std::move(c.text);
      out.chunks.push_back(std::move(r));
    }
  };
  auto embed = [&](WorkItem& item) {
    if (!item.status.ok() || item.unchanged) return;
    NewDocument& out = item.result;
    const size_t dim = static_cast<size_t>(embedder->dim());
    // The chunks were analysed in prepare(); an embedder that works on those
    // terms is spared analysing every chunk a second time.
    bool embedded = true;
    for (size_t i = 0; i < out.chunks.size() && embedded; ++i) {
      out.chunks[i].embedding.resize(dim);
      embedded = embedder->EmbedAnalyzed(item.analyzed[i].title_terms, item.analyzed[i].body_terms,
                                         out.chunks[i].embedding.data());
    }
    if (embedded) return;
    std::vector<std::string> texts;
    for (const ChunkRecord& c : out.chunks) texts.push_back(EmbeddingText(c.title, c.text));
    std::vector<float> vectors(texts.size() * dim);
    Status st = embedder->Embed(texts, false, vectors.data());
    if (!st.ok()) {
      item.status = st;
      return;
    }
    for (size_t i = 0; i < out.chunks.size(); ++i) {
      out.chunks[i].embedding.assign(vectors.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                     vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
    }
  };

  phase("expanded paths (read and parsed JSONL)");
  if (!embedder) {
    // A trained embedder learns from this ingest's chunks before anything is embedded.
    pool_->ParallelFor(items.size(), [&](size_t i) { prepare(items[i]); });
    phase("parsed and chunked for training");
    // The chunks' analysed title and body terms are exactly the analysis of
    // EmbeddingText(title, text): train on them rather than analyse again.
    // (Copied on the pool: the index needs the chunks' own lists later.)
    std::vector<size_t> first_text(items.size() + 1, 0);
    for (size_t i = 0; i < items.size(); ++i) {
      const WorkItem& item = items[i];
      first_text[i + 1] = first_text[i] + (item.status.ok() && !item.unchanged ? item.analyzed.size() : 0);
    }
    std::vector<std::vector<std::string>> terms(first_text.back());
    pool_->ParallelFor(items.size(), [&](size_t i) {
      if (first_text[i + 1] == first_text[i]) return;
      for (size_t c = 0; c < items[i].analyzed.size(); ++c) {
        const AnalyzedChunk& chunk = items[i].analyzed[c];
        std::vector<std::string>& t = terms[first_text[i] + c];
        t.reserve(chunk.title_terms.size() + chunk.body_terms.size());
        t.insert(t.end(), chunk.title_terms.begin(), chunk.title_terms.end());
        t.insert(t.end(), chunk.body_terms.begin(), chunk.body_terms.end());
      }
    }, 64);
    if (terms.empty()) {
      for (const WorkItem& item : items) {
        if (!item.status.ok()) {
          ++report.failed;
          on_error(item.path, item.status.message());
        }
      }
      return report;
    }
    LATHE_ASSIGN_OR_RETURN(embedder, embedders_->TrainOnTerms(collection, std::move(terms)));
    phase("trained the embedder");
  }
  LATHE_ASSIGN_OR_RETURN(auto index, CollectionIndex::Load(catalog_, collection, data_dir_, embedder,
                                                           index_options_, pool_));

  phase("loaded the index");
  double parallel_s = 0, catalog_s = 0, index_wait_s = 0;
  double index_s = 0;  // updated by one index update at a time, read after the last
  // The in-memory index follows the catalog on a thread of its own, batch by
  // batch in commit order, up to 16 batches behind, while this thread commits
  // the next ones. (Declared after index: drained before index is destroyed.)
  std::optional<OrderedWorker> index_updates;
  if (pool_->size() > 1) index_updates.emplace(16);
  // Windows of documents are prepared (parsed, chunked, analysed, embedded) on
  // the pool while the previous window commits on this thread.
  const size_t window = std::max<size_t>(options.batch_size * 8, 256);
  const size_t windows = (items.size() + window - 1) / window;
  auto prepare_window = [&](size_t w) -> std::future<void> {
    size_t begin = w * window, end = std::min(items.size(), begin + window);
    auto work = [&, begin](size_t i) {
      prepare(items[begin + i]);
      embed(items[begin + i]);
    };
    if (pool_->size() <= 1) {  // one thread means one: no overlap
      for (size_t i = 0; i < end - begin; ++i) work(i);
      std::promise<void> ready;
      ready.set_value();
      return ready.get_future();
    }
    return pool_->ParallelForAsync(end - begin, work);
  };
  std::future<void> pending = windows > 0 ? prepare_window(0) : std::future<void>();
  for (size_t w = 0; w < windows; ++w) {
    size_t begin = w * window, end = std::min(items.size(), begin + window);
    auto wait_start = std::chrono::steady_clock::now();
    pending.get();
    parallel_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
    if (w + 1 < windows) pending = prepare_window(w + 1);
    struct Drain {  // never leave pool work referencing this frame on an early return
      std::future<void>* f;
      ~Drain() {
        if (f->valid()) f->wait();
      }
    } drain{&pending};
    std::vector<NewDocument> batch;
    std::vector<WorkItem*> batch_items;
    auto commit = [&]() -> Status {
      if (batch.empty()) return Status::OK();
      std::vector<int64_t> removed;
      auto t0 = std::chrono::steady_clock::now();
      LATHE_RETURN_IF_ERROR(catalog_->ReplaceDocuments(collection.id, &batch, &removed));
      catalog_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::vector<std::string> ids;
      std::vector<std::vector<AnalyzedChunk>> analyzed;
      for (size_t d = 0; d < batch.size(); ++d) {
        report.chunks += batch[d].chunks.size();
        ids.push_back(batch[d].info.doc_id);
        analyzed.push_back(std::move(batch_items[d]->analyzed));
        LOG_DEBUG("committed {}", batch[d].info.doc_id);
      }
      if (on_commit) on_commit(ids);
      auto update = [&index, &index_s, removed = std::move(removed), docs = std::move(batch),
                     analyzed = std::move(analyzed)]() {
        auto t0 = std::chrono::steady_clock::now();
        for (int64_t id : removed) index->Remove(id);
        for (size_t d = 0; d < docs.size(); ++d) {
          for (size_t c = 0; c < docs[d].chunks.size(); ++c) {
            index->Add(docs[d].chunks[c].id, docs[d].info.doc_id, analyzed[d][c], docs[d].chunks[c].embedding.data());
          }
        }
        index_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };
      if (!index_updates) {
        update();
      } else {
        auto wait_start = std::chrono::steady_clock::now();
        index_updates->Submit(std::move(update));  // waits only when 16 batches are queued
        index_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
      }
      batch.clear();
      batch_items.clear();
      return Status::OK();
    };
    for (size_t i = begin; i < end; ++i) {
      WorkItem& item = items[i];
      if (!item.status.ok()) {
        ++report.failed;
        on_error(item.path, item.status.message());
        continue;
      }
      if (item.unchanged) {
        ++report.unchanged;
        continue;
      }
      ++(item.existed ? report.updated : report.added);
      batch.push_back(std::move(item.result));
      batch_items.push_back(&item);
      if (batch.size() >= options.batch_size) LATHE_RETURN_IF_ERROR(commit());
    }
    LATHE_RETURN_IF_ERROR(commit());
    for (size_t i = begin; i < end; ++i) items[i] = WorkItem();  // free memory of the finished window
  }
  if (index_updates) {
    auto wait_start = std::chrono::steady_clock::now();
    index_updates->Drain();
    index_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  }
  LOG_DEBUG("ingest: commit loop: {:.3f} s waiting for prepared windows, {:.3f} s in the catalog, {:.3f} s "
            "waiting for index updates ({:.3f} s updating the index)", parallel_s, catalog_s, index_wait_s, index_s);
  phase("embedded and committed");
  index->CompactIfWasteful();
  index->Optimize();
  phase("compacted and optimised the index");
  if (collection.embedder != embedder->id()) {
    LATHE_RETURN_IF_ERROR(catalog_->SetCollectionEmbedder(collection.id, embedder->id()));
  }
  LATHE_ASSIGN_OR_RETURN(CollectionInfo after, catalog_->GetCollection(options.collection));
  // An ingest that changed nothing leaves a snapshot that is still current.
  if (after.generation != collection.generation || !index->loaded_from_snapshot()) {
    Status save = index->Save(data_dir_, after.id, after.generation);
    if (!save.ok()) LOG_WARN("could not write index snapshot (it will be rebuilt): {}", save.message());
    phase("wrote the snapshot");
  }
  return report;
}

Status Ingester::Delete(const std::string& collection_name, const std::string& doc_id) {
  LATHE_ASSIGN_OR_RETURN(CollectionInfo collection, catalog_->GetCollection(collection_name));
  LATHE_ASSIGN_OR_RETURN(std::shared_ptr<const Embedder> embedder, embedders_->ForCollection(catalog_, collection));
  std::unique_ptr<CollectionIndex> index;
  if (embedder) {
    LATHE_ASSIGN_OR_RETURN(index, CollectionIndex::Load(catalog_, collection, data_dir_, embedder, index_options_, pool_));
  }
  std::vector<int64_t> removed;
  LATHE_RETURN_IF_ERROR(catalog_->DeleteDocument(collection.id, doc_id, &removed));
  if (!index) return Status::OK();
  for (int64_t id : removed) index->Remove(id);
  index->CompactIfWasteful();
  LATHE_ASSIGN_OR_RETURN(CollectionInfo after, catalog_->GetCollection(collection_name));
  Status save = index->Save(data_dir_, after.id, after.generation);
  if (!save.ok()) LOG_WARN("could not write index snapshot (it will be rebuilt): {}", save.message());
  return Status::OK();
}

}  // namespace lathe::rag
