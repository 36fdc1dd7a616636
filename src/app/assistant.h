// Assistant: the support assistant behind the HTTP API — collections and
// their loaded indexes (per tenant), ingestion, search, and grounded chat with
// verified citations, abstention and conversations. Coroutine methods run on
// the caller's I/O executor and post CPU and database work to the CPU pool.
// Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/api_keys.h"
#include "app/app_context.h"
#include "app/config.h"
#include "app/turn_writer.h"
#include "net/metrics.h"
#include "rag/answer/conversation_store.h"
#include "rag/answer/llm.h"
#include "rag/answer/answer.h"
#include "rag/answer/prompt_builder.h"
#include "rag/ingest/ingester.h"

namespace lathe::app {

// A collection's loaded index; replaced (not mutated) after each change, so
// searches in flight keep the version they started with.
struct LoadedCollection {
  rag::CollectionInfo info;
  std::shared_ptr<const rag::CollectionIndex> index;
};

struct SearchInput {
  std::string collection;
  std::string query;
  size_t k = 10;
  std::string retriever = "hybrid";
  std::vector<std::string> doc_ids;  // filter: only these documents (empty: all)
  std::string doc_prefix;            // filter: documents whose id starts with this
};

struct SearchHit {
  rag::Hit hit;
  std::string title;
  std::string text;
};

struct ChatInput {
  std::string collection;
  std::string message;
  std::optional<std::string> conversation_id;  // continue a stored conversation
  bool store = true;                           // false: the OpenAI façade (history in the request)
  std::vector<rag::Turn> history;              // used when store is false
};

struct ChatResult {
  std::string conversation_id;
  std::string query;  // the standalone query that was searched
  bool rewritten = false;
  rag::Answer answer;
  float evidence = 0;
  double retrieve_ms = 0, generate_ms = 0, total_ms = 0;
};

class Assistant {
 public:
  // ctx (opened), metrics and llm (may be null: extractive only) must outlive it.
  Assistant(AppContext* ctx, const ServeConfig& config, net::MetricsRegistry* metrics, rag::LlmClient* llm);
  // Opens the stores (catalog connections, keys). Fast; call before serving.
  Status Open();
  // Loads every collection's index, then reports ready. Call after the server
  // has started so that /healthz answers meanwhile.
  Status LoadCollections();

  // Collections visible to the tenant.
  boost::asio::awaitable<Result<std::vector<rag::CollectionInfo>>> ListCollections(const std::string& tenant);
  boost::asio::awaitable<Result<std::vector<rag::DocumentInfo>>> ListDocuments(const std::string& tenant,
                                                                               const std::string& collection);
  // Ingests files under dir into the tenant's collection (created when new).
  // Conflict (AlreadyExists) when another tenant owns the name.
  boost::asio::awaitable<Result<rag::IngestReport>> Ingest(const std::string& tenant, const std::string& collection,
                                                           const std::string& dir,
                                                           std::vector<std::string>* errors);
  boost::asio::awaitable<Status> DeleteDocument(const std::string& tenant, const std::string& collection,
                                                const std::string& doc_id);

  boost::asio::awaitable<Result<std::vector<SearchHit>>> Search(const std::string& tenant, const SearchInput& input);

  // on_delta (may be null) receives the answer text as it is generated.
  boost::asio::awaitable<Result<ChatResult>> Chat(const std::string& tenant, const ChatInput& input,
                                                  rag::DeltaSink on_delta);

  boost::asio::awaitable<Result<rag::Conversation>> GetConversation(const std::string& tenant, const std::string& id);

  // One stored chunk of the tenant's collection (what a citation points to).
  // NotFound for an unknown collection or chunk.
  boost::asio::awaitable<Result<rag::ChunkDetail>> GetChunk(const std::string& tenant, const std::string& collection,
                                                            int64_t chunk_id);
  // Records that the conversation's customer asked for a person.
  boost::asio::awaitable<Result<rag::Handoff>> RequestHandoff(const std::string& tenant,
                                                              const std::string& conversation_id,
                                                              const std::string& note);
  boost::asio::awaitable<Result<std::vector<rag::Handoff>>> ListHandoffs(const std::string& tenant, size_t limit);

  // The loaded collection, loading its index on first use. NotFound when it
  // does not exist or belongs to another tenant (the same message).
  Result<std::shared_ptr<const LoadedCollection>> Collection(const std::string& tenant, const std::string& name);

  bool ready() const { return ready_; }
  const std::string& data_dir() const { return ctx_->settings.data_dir; }
  ApiKeyVerifier* keys() { return keys_.get(); }

 private:
  Result<std::shared_ptr<const LoadedCollection>> Reload(const std::string& name);
  // The stored chunks of the first `top` hits, by chunk id.
  Result<std::unordered_map<int64_t, rag::ChunkRecord>> ChunksById(const std::vector<rag::Hit>& hits, size_t top);
  // The first `top` hits as numbered passages, in rank order.
  Result<std::vector<rag::Passage>> Passages(const std::vector<rag::Hit>& hits, size_t top);
  boost::asio::awaitable<void> Delay(int64_t ms);
  // The query's embedding (empty when the embedder failed), timed in the
  // metrics. A remote embedder is awaited without holding a pool worker.
  boost::asio::awaitable<std::vector<float>> EmbedQuery(const rag::CollectionIndex* index, const std::string& query,
                                                        std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Result<std::string>> RewriteQuery(const std::string& message,
                                                           const std::vector<rag::Turn>& history,
                                                           std::chrono::steady_clock::time_point deadline);

  AppContext* const ctx_;
  const ServeConfig config_;
  net::MetricsRegistry* const metrics_;
  rag::LlmClient* const llm_;
  std::unique_ptr<rag::Catalog> keys_catalog_;  // the verifier's own connection
  std::unique_ptr<ApiKeyVerifier> keys_;
  std::atomic<bool> ready_{false};

  std::mutex catalog_mu_;  // guards ctx_->catalog and conversations_
  std::unique_ptr<rag::ConversationStore> conversations_;
  int64_t last_purge_ = 0;  // unix seconds of the last purge of expired conversations; guarded by catalog_mu_
  std::unique_ptr<TurnWriter> turn_writer_;  // stores chats' turns in group commits

  std::mutex ingest_mu_;  // one ingest or delete at a time
  std::unique_ptr<rag::Catalog> ingest_catalog_;
  std::unique_ptr<rag::Ingester> ingester_;

  std::mutex cache_mu_;
  std::map<std::string, std::shared_ptr<const LoadedCollection>> cache_;  // guarded by cache_mu_

  net::Family<net::Gauge>* index_chunks_;
  net::Family<net::Gauge>* index_documents_;
  net::Family<net::Counter>* citations_removed_;
  net::Family<net::Counter>* answers_;
  net::Family<net::Histogram>* embed_seconds_;
  net::Family<net::Counter>* rewrites_;
};

}  // namespace lathe::app
