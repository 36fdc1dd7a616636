// RemoteEmbedder: the Embedder for an OpenAI-compatible embeddings server
// (POST {base_url}/embeddings). Embed is synchronous (ingestion calls it from
// CPU-pool workers); the HTTP calls run on the embedder's own I/O thread,
// batch_size texts per request and up to max_concurrent requests at once,
// each with retries, a circuit breaker and timeouts (net/resilient_caller.h).
// Vectors are L2-normalised and their dimension checked. Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/metrics.h"
#include "rag/embed/embedder.h"

namespace boost::asio { class io_context; }

namespace lathe::net {
class HttpClient;
class ResilientCaller;
}  // namespace lathe::net

namespace lathe::rag {

struct RemoteEmbedderOptions {
  std::string base_url = "http://127.0.0.1:9000/v1";  // without the trailing /embeddings
  std::string model = "text-embedding-3-small";
  std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
  // Vector size. 0: learned from the server by a probe request in Create.
  int dim = 0;
  int batch_size = 64;        // texts per request
  size_t max_concurrent = 4;  // requests in flight per embedder
  // Prepended to each text; asymmetric models (E5, BGE, Nomic) want e.g.
  // "query: " and "passage: ".
  std::string query_prefix;
  std::string passage_prefix;
  std::chrono::milliseconds per_try_timeout{30000};
  std::chrono::milliseconds call_timeout{120000};  // a whole Embed call, retries included
  int max_tries = 3;
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{5000};
  int breaker_failure_threshold = 5;
  std::chrono::milliseconds breaker_cool_down{10000};
  // lathe_embedding_*{backend="remote:<model>"} go here when set; not owned.
  net::MetricsRegistry* metrics = nullptr;
};

class RemoteEmbedder : public Embedder {
 public:
  // Starts the I/O thread. With options.dim == 0, embeds one probe text to
  // learn the dimension (so the server must be up). InvalidArgument for bad
  // options; the probe's error if it fails.
  static Result<std::unique_ptr<RemoteEmbedder>> Create(RemoteEmbedderOptions options);
  // Stops the I/O thread. No Embed call may be running.
  ~RemoteEmbedder() override;

  int dim() const override { return dim_.load(std::memory_order_acquire); }
  // "remote:<model>:d<dim>".
  std::string id() const override;
  // Writes texts.size() * dim() floats to out (row-major, unit length; a text
  // the server maps to a zero vector stays zero). Errors: those of
  // LlmClient-style upstream calls — DeadlineExceeded (call_timeout passed),
  // Unavailable (upstream failed after retries, circuit open, or a malformed
  // response naming what is missing, or a dimension mismatch naming both
  // sizes), ResourceExhausted (kept answering 429), InvalidArgument (4xx).
  // On error the contents of out are unspecified. Must not be called from
  // inside a coroutine on an I/O thread (it blocks).
  Status Embed(const std::vector<std::string>& texts, bool is_query, float* out) const override;
  // Embed for coroutines (the server's I/O threads): the requests run on the
  // embedder's own I/O thread, batches one after another, and the caller
  // resumes on its executor without holding a thread while it waits. Ends at
  // deadline or after call_timeout, whichever comes first. texts and out
  // must stay alive until it completes.
  boost::asio::awaitable<Status> EmbedAsync(const std::vector<std::string>& texts, bool is_query, float* out,
                                            std::chrono::steady_clock::time_point deadline) const;

 private:
  explicit RemoteEmbedder(RemoteEmbedderOptions options);
  Status EmbedBatches(const std::vector<std::string>& texts, bool is_query, float* out) const;
  boost::asio::awaitable<Status> EmbedBatch(const std::vector<std::string>* texts, size_t begin, size_t end,
                                            bool is_query, float* out,
                                            std::chrono::steady_clock::time_point deadline) const;

  // Constant after construction.
  const RemoteEmbedderOptions options_;
  const std::string endpoint_;
  const std::string what_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::ResilientCaller> caller_;
  std::thread thread_;

  // Fixed by the options or by the probe in Create, before any Embed.
  mutable std::atomic<int> dim_{0};
};

}  // namespace lathe::rag
