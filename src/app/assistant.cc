#include "app/assistant.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "common/clock.h"
#include "common/logging.h"
#include "net/http_server.h"
#include "rag/answer/citation_checker.h"
#include "rag/answer/evidence.h"
#include "rag/answer/extractive_answerer.h"
#include "rag/answer/query_rewriter.h"
#include "rag/embed/remote_embedder.h"
#include "rag/retrieve/retriever.h"
#include "text/sentence_splitter.h"

namespace lathe::app {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

Status ValidateCollectionName(const std::string& name) {
  if (name.empty() || name.size() > 64) return InvalidArgument("collection name must be 1 to 64 characters");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return InvalidArgument("collection name '" + name + "' may contain only letters, digits, '_', '-' and '.'");
    }
  }
  return Status::OK();
}

Status CollectionNotFound(const std::string& name) {
  return NotFound("collection '" + name + "' does not exist");
}

}  // namespace

Assistant::Assistant(AppContext* ctx, const ServeConfig& config, net::MetricsRegistry* metrics, rag::LlmClient* llm)
    : ctx_(ctx), config_(config), metrics_(metrics), llm_(llm) {
  index_chunks_ = metrics_->AddGauge("lathe_index_chunks", "Live chunks in a loaded collection index", {"collection"});
  index_documents_ = metrics_->AddGauge("lathe_index_documents", "Documents in a loaded collection", {"collection"});
  citations_removed_ = metrics_->AddCounter("lathe_citations_removed_total",
                                            "Generated citations that failed verification and were removed",
                                            {"backend"});
  answers_ = metrics_->AddCounter("lathe_answers_total", "Chat answers by backend and outcome",
                                  {"backend", "outcome"});
  embed_seconds_ = metrics_->AddHistogram("lathe_query_embedding_seconds", "Query embedding latency",
                                          {"embedder", "outcome"}, net::MetricsRegistry::LatencyBuckets());
  rewrites_ = metrics_->AddCounter("lathe_query_rewrites_total", "Follow-up questions rewritten", {"method"});
}

Status Assistant::Open() {
  LATHE_RETURN_IF_ERROR(ctx_->Open());
  conversations_ = std::make_unique<rag::ConversationStore>(ctx_->catalog->db(), config_.conversations.ttl_hours * 3600);
  turn_writer_ = std::make_unique<TurnWriter>(
      &ctx_->pool->executor_pool(),
      [this](std::vector<rag::ConversationStore::NewTurn*>& turns) -> Status {
        std::lock_guard lock(catalog_mu_);
        const int64_t now = UnixSeconds();
        if (now - last_purge_ >= 3600) {  // expired conversations go at most an hour late
          last_purge_ = now;
          auto purged = conversations_->PurgeExpired(now);
          if (!purged.ok()) LOG_WARN("purging expired conversations: {}", purged.status().ToString());
        }
        return conversations_->AppendTurns(turns, now);
      },
      metrics_);
  LATHE_ASSIGN_OR_RETURN(ingest_catalog_, rag::Catalog::Open(ctx_->settings.data_dir));
  ingester_ = std::make_unique<rag::Ingester>(ingest_catalog_.get(), ctx_->settings.data_dir, ctx_->embedders.get(),
                                              ctx_->settings.index, ctx_->pool.get());
  LATHE_ASSIGN_OR_RETURN(auto keys_db, rag::Catalog::Open(ctx_->settings.data_dir));
  keys_catalog_ = std::move(keys_db);
  keys_ = std::make_unique<ApiKeyVerifier>(keys_catalog_->db());
  return Status::OK();
}

Status Assistant::LoadCollections() {
  // Load every collection now, so the first request does not pay for it.
  std::vector<rag::CollectionInfo> collections;
  {
    std::lock_guard lock(catalog_mu_);
    LATHE_ASSIGN_OR_RETURN(collections, ctx_->catalog->ListCollections());
  }
  for (const auto& c : collections) {
    if (c.chunks == 0) continue;
    auto loaded = Reload(c.name);
    if (!loaded.ok()) LOG_WARN("collection '{}' not loaded: {}", c.name, loaded.status().ToString());
  }
  int64_t purged = 0;
  {
    std::lock_guard lock(catalog_mu_);
    last_purge_ = UnixSeconds();
    LATHE_ASSIGN_OR_RETURN(purged, conversations_->PurgeExpired(last_purge_));
  }
  if (purged > 0) LOG_INFO("purged {} expired conversations", purged);
  ready_ = true;
  return Status::OK();
}

Result<std::shared_ptr<const LoadedCollection>> Assistant::Reload(const std::string& name) {
  auto loaded = std::make_shared<LoadedCollection>();
  {
    std::lock_guard lock(catalog_mu_);
    LATHE_ASSIGN_OR_RETURN(loaded->info, ctx_->catalog->GetCollection(name));
    if (loaded->info.chunks > 0) {
      LATHE_ASSIGN_OR_RETURN(std::unique_ptr<rag::CollectionIndex> index, ctx_->LoadIndex(name));
      loaded->index = std::move(index);
    }
  }
  index_chunks_->With({name}).Set(loaded->index ? static_cast<double>(loaded->index->live_chunks()) : 0);
  index_documents_->With({name}).Set(static_cast<double>(loaded->info.documents));
  std::lock_guard lock(cache_mu_);
  cache_[name] = loaded;
  return std::shared_ptr<const LoadedCollection>(loaded);
}

Result<std::shared_ptr<const LoadedCollection>> Assistant::Collection(const std::string& tenant,
                                                                       const std::string& name) {
  LATHE_RETURN_IF_ERROR(ValidateCollectionName(name));
  std::shared_ptr<const LoadedCollection> c;
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(name);
    if (it != cache_.end()) c = it->second;
  }
  if (!c) {
    auto loaded = Reload(name);
    if (!loaded.ok()) {
      if (loaded.status().code() == StatusCode::kNotFound) return CollectionNotFound(name);
      return loaded.status();
    }
    c = *loaded;
  }
  // Tenant isolation: another tenant's collection is indistinguishable from none.
  if (c->info.tenant != tenant) return CollectionNotFound(name);
  return c;
}

asio::awaitable<Result<std::vector<rag::CollectionInfo>>> Assistant::ListCollections(const std::string& tenant) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&]() -> Result<std::vector<rag::CollectionInfo>> {
    std::lock_guard lock(catalog_mu_);
    LATHE_ASSIGN_OR_RETURN(auto all, ctx_->catalog->ListCollections());
    std::vector<rag::CollectionInfo> mine;
    for (auto& c : all) {
      if (c.tenant == tenant) mine.push_back(std::move(c));
    }
    return mine;
  });
}

asio::awaitable<Result<std::vector<rag::DocumentInfo>>> Assistant::ListDocuments(const std::string& tenant,
                                                                                  const std::string& collection) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&]() -> Result<std::vector<rag::DocumentInfo>> {
    LATHE_RETURN_IF_ERROR(ValidateCollectionName(collection));
    std::lock_guard lock(catalog_mu_);
    auto info = ctx_->catalog->GetCollection(collection);
    if (!info.ok() || info->tenant != tenant) return CollectionNotFound(collection);
    return ctx_->catalog->ListDocuments(info->id);
  });
}

asio::awaitable<Result<rag::IngestReport>> Assistant::Ingest(const std::string& tenant, const std::string& collection,
                                                             const std::string& dir,
                                                             std::vector<std::string>* errors) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&]() -> Result<rag::IngestReport> {
    LATHE_RETURN_IF_ERROR(ValidateCollectionName(collection));
    std::lock_guard ingest_lock(ingest_mu_);
    {
      std::lock_guard lock(catalog_mu_);
      auto info = ctx_->catalog->GetCollection(collection);
      if (info.ok() && info->tenant != tenant) {
        // Names are global; say no more than that this one is taken.
        return AlreadyExists("collection name '" + collection + "' is not available; choose another");
      }
    }
    rag::IngestOptions options;
    options.collection = collection;
    options.tenant = tenant;
    options.chunker = ctx_->settings.chunker;
    LATHE_ASSIGN_OR_RETURN(rag::IngestReport report,
                           ingester_->Ingest({dir}, options, [&](const std::string& source, const std::string& why) {
                             std::string name = source;
                             if (name.rfind(dir, 0) == 0) name = name.substr(std::min(name.size(), dir.size() + 1));
                             errors->push_back(name + ": " + why);
                           }));
    bool loaded;
    {
      std::lock_guard lock(cache_mu_);
      loaded = cache_.count(collection) > 0;
    }
    if (report.added + report.updated > 0 || !loaded) LATHE_RETURN_IF_ERROR(Reload(collection).status());
    return report;
  });
}

asio::awaitable<Status> Assistant::DeleteDocument(const std::string& tenant, const std::string& collection,
                                                  const std::string& doc_id) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&]() -> Status {
    LATHE_ASSIGN_OR_RETURN(auto c, Collection(tenant, collection));
    (void)c;
    std::lock_guard ingest_lock(ingest_mu_);
    LATHE_RETURN_IF_ERROR(ingester_->Delete(collection, doc_id));
    return Reload(collection).status();
  });
}

Result<std::unordered_map<int64_t, rag::ChunkRecord>> Assistant::ChunksById(const std::vector<rag::Hit>& hits,
                                                                            size_t top) {
  std::vector<int64_t> ids;
  for (size_t i = 0; i < std::min(top, hits.size()); ++i) ids.push_back(hits[i].chunk_id);
  std::vector<rag::ChunkRecord> chunks;
  {
    std::lock_guard lock(catalog_mu_);
    LATHE_ASSIGN_OR_RETURN(chunks, ctx_->catalog->GetChunks(ids));
  }
  std::unordered_map<int64_t, rag::ChunkRecord> by_id;
  for (auto& c : chunks) by_id.emplace(c.id, std::move(c));
  return by_id;
}

Result<std::vector<rag::Passage>> Assistant::Passages(const std::vector<rag::Hit>& hits, size_t top) {
  LATHE_ASSIGN_OR_RETURN(auto chunks, ChunksById(hits, top));
  std::vector<rag::Passage> out;
  for (size_t i = 0; i < std::min(top, hits.size()); ++i) {
    auto it = chunks.find(hits[i].chunk_id);
    if (it == chunks.end()) continue;  // deleted since the index was loaded
    const rag::ChunkRecord& c = it->second;
    out.push_back({static_cast<int>(out.size() + 1), c.id, c.doc_id, c.title, c.text, hits[i].score});
  }
  return out;
}

asio::awaitable<std::vector<float>> Assistant::EmbedQuery(const rag::CollectionIndex* index,
                                                          const std::string& query, Clock::time_point deadline) {
  const rag::Embedder* embedder = index->embedder();
  const auto t0 = Clock::now();
  std::vector<float> v;
  if (const auto* remote = dynamic_cast<const rag::RemoteEmbedder*>(embedder)) {
    // Waits on the network: no CPU-pool worker is held while it does.
    std::vector<std::string> texts{query};
    v.resize(static_cast<size_t>(remote->dim()));
    Status st = co_await remote->EmbedAsync(texts, true, v.data(), deadline);
    if (!st.ok()) {
      LOG_WARN("query embedding failed, searching without vectors: {}", st.ToString());
      v.clear();
    }
  } else {
    v = co_await net::RunOnPool(ctx_->pool->executor_pool(),
                                [&] { return rag::Retriever(index, nullptr).EmbedQuery(query); });
  }
  embed_seconds_->With({embedder->id(), v.empty() ? "error" : "ok"})
      .Observe(std::chrono::duration<double>(Clock::now() - t0).count());
  co_return v;
}

asio::awaitable<Result<std::vector<SearchHit>>> Assistant::Search(const std::string& tenant,
                                                                   const SearchInput& input) {
  auto& pool = ctx_->pool->executor_pool();
  auto kind = rag::ParseRetriever(input.retriever);
  if (!kind.ok()) co_return kind.status();
  auto collection = co_await net::RunOnPool(pool, [&] { return Collection(tenant, input.collection); });
  if (!collection.ok()) co_return collection.status();
  std::shared_ptr<const LoadedCollection> c = *collection;
  if (!c->index) co_return std::vector<SearchHit>{};
  const rag::CollectionIndex* index = c->index.get();
  // A remote query embedding is awaited here, off the pool; a local one is
  // computed on the pool worker together with BM25.
  const bool remote = dynamic_cast<const rag::RemoteEmbedder*>(index->embedder()) != nullptr;
  std::vector<float> qvec;
  if (remote && *kind != rag::RetrieverKind::kBm25) {
    qvec = co_await EmbedQuery(index, input.query, Clock::now() + std::chrono::milliseconds(config_.llm.timeout_ms));
  }
  co_return co_await net::RunOnPool(pool, [&]() -> Result<std::vector<SearchHit>> {
    rag::RetrieveOptions options;
    options.kind = *kind;
    options.k = input.k;
    options.candidates = ctx_->settings.candidates;
    options.fusion = ctx_->settings.Fusion();
    std::vector<uint8_t> filter;
    if (!input.doc_ids.empty() || !input.doc_prefix.empty()) {
      std::unordered_set<std::string> allowed(input.doc_ids.begin(), input.doc_ids.end());
      filter = index->MakeFilter([&](const std::string& doc) {
        return (allowed.empty() || allowed.count(doc)) &&
               (input.doc_prefix.empty() || doc.rfind(input.doc_prefix, 0) == 0);
      });
      options.allowed = filter.data();
    }
    // Already on a pool worker: search sequentially rather than queue behind ourselves.
    rag::Retriever retriever(index, nullptr);
    std::vector<std::string> terms = retriever.AnalyzeQuery(input.query);
    std::vector<rag::ScoredSlot> bm25 = retriever.SearchBm25(terms, options);
    if (!remote && options.kind != rag::RetrieverKind::kBm25) qvec = retriever.EmbedQuery(input.query);
    std::vector<rag::Hit> hits = retriever.Fuse(terms, std::move(bm25), std::move(qvec), options);
    LATHE_ASSIGN_OR_RETURN(auto chunks, ChunksById(hits, hits.size()));
    std::vector<SearchHit> out;
    for (auto& h : hits) {
      SearchHit hit{h, "", ""};
      if (auto it = chunks.find(h.chunk_id); it != chunks.end()) {
        hit.title = std::move(it->second.title);
        hit.text = std::move(it->second.text);
      }
      out.push_back(std::move(hit));
    }
    return out;
  });
}

asio::awaitable<void> Assistant::Delay(int64_t ms) {
  if (ms <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<Result<std::string>> Assistant::RewriteQuery(const std::string& message,
                                                             const std::vector<rag::Turn>& history,
                                                             Clock::time_point deadline) {
  if (llm_ != nullptr) {
    rag::LlmRequest request;
    request.messages = rag::BuildRewritePrompt(message, history);
    request.max_tokens = 64;
    request.deadline = deadline;
    Result<std::string> text = co_await llm_->Complete(request, nullptr);
    if (text.ok() && !text->empty()) {
      rewrites_->With({"llm"}).Add();
      co_return *text;
    }
    LOG_WARN("query rewrite by the LLM failed ({}); rewriting heuristically",
             text.ok() ? "empty reply" : text.status().ToString());
  }
  std::vector<std::string> previous;
  for (const auto& t : history) previous.push_back(t.user);
  rewrites_->With({"heuristic"}).Add();
  co_return rag::RewriteHeuristically(message, previous);
}

asio::awaitable<Result<ChatResult>> Assistant::Chat(const std::string& tenant, const ChatInput& input,
                                                    rag::DeltaSink on_delta) {
  const auto start = Clock::now();
  auto& pool = ctx_->pool->executor_pool();
  if (input.message.empty()) co_return InvalidArgument("message must not be empty");
  if (input.message.size() > 8000) co_return InvalidArgument("message is longer than 8000 bytes");
  auto collection = co_await net::RunOnPool(pool, [&] { return Collection(tenant, input.collection); });
  if (!collection.ok()) co_return collection.status();
  std::shared_ptr<const LoadedCollection> c = *collection;
  if (!c->index) co_return FailedPrecondition("collection '" + input.collection + "' has no documents yet");
  const rag::CollectionIndex* index = c->index.get();

  ChatResult result;
  const int64_t now = UnixSeconds();
  std::string stored_id = input.conversation_id.value_or("");

  // History: the stored conversation, or what the client sent (OpenAI façade).
  auto load_history = [&]() -> asio::awaitable<Result<std::vector<rag::Turn>>> {
    co_await Delay(config_.testing.delay_history_ms);
    if (!input.store) co_return input.history;
    if (stored_id.empty()) co_return std::vector<rag::Turn>{};
    auto conv = co_await net::RunOnPool(pool, [&] {
      std::lock_guard lock(catalog_mu_);
      return conversations_->Get(stored_id, tenant, now, static_cast<size_t>(config_.answer.history_turns) + 2);
    });
    if (!conv.ok()) co_return conv.status();
    if (conv->collection != input.collection) {
      co_return InvalidArgument("conversation '" + stored_id + "' belongs to collection '" + conv->collection + "'");
    }
    std::vector<rag::Turn> turns;
    for (const auto& t : conv->turns) turns.push_back({t.query, t.answer});
    co_return turns;
  };

  rag::Retriever retriever(index, nullptr);
  auto kind = rag::ParseRetriever(config_.answer.retriever);
  rag::RetrieveOptions options;
  options.kind = kind.ok() ? *kind : rag::RetrieverKind::kHybrid;
  options.k = static_cast<size_t>(config_.answer.top_k);
  options.candidates = ctx_->settings.candidates;
  options.fusion = ctx_->settings.Fusion();
  // The branches read terms and query from this frame (g++ 12 mishandles
  // coroutine lambdas that take or capture non-trivial values by copy).
  std::string query = input.message;
  std::vector<std::string> terms;
  auto bm25_branch = [&]() -> asio::awaitable<std::vector<rag::ScoredSlot>> {
    co_await Delay(config_.testing.delay_bm25_ms);
    co_return co_await net::RunOnPool(pool, [&] { return retriever.SearchBm25(terms, options); });
  };
  auto embed_branch = [&]() -> asio::awaitable<std::vector<float>> {
    if (options.kind == rag::RetrieverKind::kBm25) co_return std::vector<float>{};
    co_await Delay(config_.testing.delay_embed_ms);
    co_return co_await EmbedQuery(index, query, start + std::chrono::milliseconds(config_.llm.timeout_ms));
  };

  const bool follow_up = rag::IsFollowUp(input.message, index->analyzer());
  std::vector<rag::Turn> history;
  std::vector<rag::ScoredSlot> bm25;
  std::vector<float> qvec;
  if (!follow_up) {
    // The independent waits at once: history, BM25, the query embedding.
    terms = index->analyzer().Analyze(query);
    auto [h, b, q] = co_await (load_history() && bm25_branch() && embed_branch());
    if (!h.ok()) co_return h.status();
    history = std::move(*h);
    bm25 = std::move(b);
    qvec = std::move(q);
  } else {
    // A follow-up needs its history before it can be searched.
    auto h = co_await load_history();
    if (!h.ok()) co_return h.status();
    history = std::move(*h);
    if (!history.empty()) {
      auto rewritten =
          co_await RewriteQuery(input.message, history, start + std::chrono::milliseconds(config_.llm.timeout_ms));
      if (rewritten.ok()) {
        query = *rewritten;
        result.rewritten = query != input.message;
      }
    }
    terms = index->analyzer().Analyze(query);
    auto [b, q] = co_await (bm25_branch() && embed_branch());
    bm25 = std::move(b);
    qvec = std::move(q);
  }
  result.query = query;
  auto passages = co_await net::RunOnPool(pool, [&]() -> Result<std::vector<rag::Passage>> {
    std::vector<rag::Hit> hits = retriever.Fuse(terms, std::move(bm25), std::move(qvec), options);
    return Passages(hits, options.k);
  });
  if (!passages.ok()) co_return passages.status();
  result.evidence = rag::EvidenceScore(*index, terms, *passages);
  result.retrieve_ms = MsSince(start);

  const auto gen_start = Clock::now();
  const std::string backend = config_.answer.backend;
  if (result.evidence < config_.answer.abstain_threshold || passages->empty()) {
    result.answer.abstained = true;
    result.answer.text = config_.answer.handoff_message;
    if (on_delta) co_await on_delta(result.answer.text);
    answers_->With({backend, "abstained"}).Add();
  } else if (backend == "openai" && llm_ != nullptr) {
    rag::PromptOptions prompt_options;
    prompt_options.max_context_tokens = static_cast<size_t>(config_.answer.max_context_tokens);
    prompt_options.max_history_turns = static_cast<size_t>(config_.answer.history_turns);
    std::vector<rag::Passage> used;
    rag::LlmRequest request;
    request.messages = rag::BuildPrompt(input.message, *passages, history, prompt_options, &used);
    request.temperature = config_.llm.temperature;
    request.max_tokens = static_cast<int>(config_.llm.max_tokens);
    request.deadline = start + std::chrono::milliseconds(config_.llm.timeout_ms);
    // Streamed pieces lose markers naming no given passage as they arrive;
    // quotes are checked on the whole answer below.
    std::vector<int> given;
    for (const auto& p : used) given.push_back(p.n);
    rag::CitationStreamFilter filter(given);
    rag::DeltaSink filtered;
    if (on_delta) {
      filtered = [&](std::string_view piece) -> asio::awaitable<bool> {
        std::string shown = filter.Feed(piece);
        if (shown.empty()) co_return true;
        co_return co_await on_delta(shown);
      };
    }
    Result<std::string> text = co_await llm_->Complete(request, filtered);
    if (on_delta && text.ok()) {
      std::string rest = filter.Flush();
      if (!rest.empty()) co_await on_delta(rest);
    }
    if (!text.ok()) {
      answers_->With({backend, "error"}).Add();
      Status st = text.status();
      // The upstream refusing our request (bad key, unknown model) is the
      // server's configuration problem, not the caller's: 500, not 400.
      StatusCode code = st.code() == StatusCode::kInvalidArgument ? StatusCode::kInternal : st.code();
      co_return Status(code, "the language model did not answer: " + st.message());
    }
    result.answer = rag::CheckCitations(*text, used);
    if (result.answer.removed_citations > 0) citations_removed_->With({backend}).Add(result.answer.removed_citations);
    answers_->With({backend, "answered"}).Add();
  } else {
    result.answer = co_await net::RunOnPool(pool, [&] {
      rag::ExtractiveAnswerer answerer(&index->bm25(), &index->analyzer());
      return answerer.Compose(terms, *passages);
    });
    if (result.answer.text.empty()) {
      result.answer.abstained = true;
      result.answer.text = config_.answer.handoff_message;
      answers_->With({backend, "abstained"}).Add();
    } else {
      answers_->With({backend, "answered"}).Add();
    }
    if (on_delta) {
      // The extractive answer is ready at once; stream it a sentence at a time.
      for (const auto& s : text::SplitSentences(result.answer.text)) {
        if (!co_await on_delta(s + " ")) break;
      }
    }
  }
  result.generate_ms = MsSince(gen_start);

  if (input.store) {
    nlohmann::json citations = nlohmann::json::array();
    for (const auto& ct : result.answer.citations) {
      citations.push_back({{"n", ct.n}, {"doc_id", ct.doc_id}, {"chunk_id", ct.chunk_id}, {"title", ct.title},
                           {"quote", ct.quote}});
    }
    rag::ConversationStore::NewTurn turn;
    turn.id = stored_id;
    turn.tenant = tenant;
    turn.collection = input.collection;
    turn.turn = {input.message, query, result.answer.text, citations.dump(), result.answer.abstained, now};
    auto id = co_await turn_writer_->Append(std::move(turn));
    if (!id.ok()) co_return id.status();
    stored_id = *id;
    result.conversation_id = stored_id;
  }
  result.total_ms = MsSince(start);
  co_return result;
}

asio::awaitable<Result<rag::Conversation>> Assistant::GetConversation(const std::string& tenant,
                                                                      const std::string& id) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&] {
    std::lock_guard lock(catalog_mu_);
    return conversations_->Get(id, tenant, UnixSeconds());
  });
}

asio::awaitable<Result<rag::ChunkDetail>> Assistant::GetChunk(const std::string& tenant,
                                                             const std::string& collection, int64_t chunk_id) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&]() -> Result<rag::ChunkDetail> {
    LATHE_RETURN_IF_ERROR(ValidateCollectionName(collection));
    std::lock_guard lock(catalog_mu_);
    auto info = ctx_->catalog->GetCollection(collection);
    if (!info.ok() || info->tenant != tenant) return CollectionNotFound(collection);
    LATHE_ASSIGN_OR_RETURN(std::optional<rag::ChunkDetail> chunk, ctx_->catalog->GetChunkDetail(info->id, chunk_id));
    if (!chunk) {
      return NotFound("collection '" + collection + "' has no chunk " + std::to_string(chunk_id) +
                      " (re-ingesting a changed document gives its chunks new ids)");
    }
    return std::move(*chunk);
  });
}

asio::awaitable<Result<rag::Handoff>> Assistant::RequestHandoff(const std::string& tenant,
                                                                const std::string& conversation_id,
                                                                const std::string& note) {
  auto handoff = co_await net::RunOnPool(ctx_->pool->executor_pool(), [&] {
    std::lock_guard lock(catalog_mu_);
    return conversations_->RequestHandoff(conversation_id, tenant, note, UnixSeconds());
  });
  if (handoff.ok()) {
    LOG_INFO("hand-off {} requested for conversation {} (tenant {}, collection {})", handoff->handoff_id,
             conversation_id, tenant, handoff->collection);
  }
  co_return handoff;
}

asio::awaitable<Result<std::vector<rag::Handoff>>> Assistant::ListHandoffs(const std::string& tenant, size_t limit) {
  co_return co_await net::RunOnPool(ctx_->pool->executor_pool(), [&] {
    std::lock_guard lock(catalog_mu_);
    return conversations_->ListHandoffs(tenant, limit);
  });
}

}  // namespace lathe::app
