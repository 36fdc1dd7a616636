#include "rag/embed/remote_embedder.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cmath>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "net/resilient_caller.h"

namespace lathe::rag {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Parses data[i].embedding (placed by data[i].index) for `count` inputs into
// a count x dim row-major matrix. *dim is the expected size, or 0 to take it
// from the response. Errors name what is missing or wrong.
// On-demand parsing finds syntax errors only when it reaches them, so any
// step may report one; `wrong` names the expectation that failed otherwise.
Status ParseError(simdjson::error_code error, const std::string& wrong) {
  if (error == simdjson::INCORRECT_TYPE || error == simdjson::NO_SUCH_FIELD || error == simdjson::NUMBER_ERROR ||
      error == simdjson::NUMBER_OUT_OF_RANGE) {
    return InvalidArgument(wrong);
  }
  return InvalidArgument(std::string("response is not valid JSON (") + simdjson::error_message(error) + ")");
}

Result<std::vector<float>> ParseEmbeddings(const std::string& body, size_t count, int* dim) {
  // simdjson: embedding responses run to megabytes of numbers.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  simdjson::error_code error = parser.iterate(padded).get(doc);
  if (error) return ParseError(error, "response is not valid JSON");
  simdjson::ondemand::array data;
  error = doc["data"].get_array().get(data);
  if (error == simdjson::NO_SUCH_FIELD) return InvalidArgument("response has no 'data'");
  if (error) return ParseError(error, "response 'data' is not a list");
  std::vector<std::vector<float>> rows(count);
  size_t item_number = 0;
  for (auto item_result : data) {
    std::string where = fmt::format("data[{}]", item_number++);
    simdjson::ondemand::object item;
    if ((error = item_result.get_object().get(item))) return ParseError(error, where + " is not an object");
    int64_t index = -1;
    if ((error = item["index"].get_int64().get(index))) return ParseError(error, where + " has no integer 'index'");
    if (index < 0 || static_cast<size_t>(index) >= count) {
      return InvalidArgument(fmt::format("{} has index {} for {} inputs", where, index, count));
    }
    std::vector<float>& row = rows[static_cast<size_t>(index)];
    if (!row.empty()) return InvalidArgument(fmt::format("{} repeats index {}", where, index));
    simdjson::ondemand::array embedding;
    if ((error = item["embedding"].get_array().get(embedding))) {
      return ParseError(error, where + " has no 'embedding' list of numbers");
    }
    if (*dim > 0) row.reserve(static_cast<size_t>(*dim));
    for (auto value : embedding) {
      double x;
      if ((error = value.get_double().get(x))) return ParseError(error, where + ".embedding has a non-number");
      row.push_back(static_cast<float>(x));
    }
    if (row.empty()) return InvalidArgument(where + ".embedding is empty");
    if (*dim == 0) *dim = static_cast<int>(row.size());
    if (row.size() != static_cast<size_t>(*dim)) {
      return InvalidArgument(fmt::format("{}.embedding has dimension {}, expected {}", where, row.size(), *dim));
    }
  }
  std::vector<float> matrix;
  matrix.reserve(count * static_cast<size_t>(*dim));
  for (size_t i = 0; i < count; ++i) {
    if (rows[i].empty()) return InvalidArgument(fmt::format("response has no embedding with index {}", i));
    matrix.insert(matrix.end(), rows[i].begin(), rows[i].end());
  }
  return matrix;
}

// One request: sends it, checks the answer, fills *vectors (count x dim) and
// fixes *dim if it was still unknown.
asio::awaitable<net::TryOutcome> EmbedOnce(net::HttpClient* http, net::ClientRequest request, const std::string& what,
                                           size_t count, std::atomic<int>* dim, std::vector<float>* vectors) {
  Result<net::ClientResponse> response = co_await http->Send(std::move(request));
  if (!response.ok()) co_return net::TryOutcome::FromTransport(response.status(), what);
  if (response->status / 100 != 2) co_return net::TryOutcome::FromHttpStatus(*response, what);
  int expected = dim->load(std::memory_order_acquire);
  const bool learning = expected == 0;
  Result<std::vector<float>> parsed = ParseEmbeddings(response->body, count, &expected);
  if (!parsed.ok()) {
    bool mismatch = parsed.status().message().find("dimension") != std::string::npos;
    co_return net::TryOutcome::BadResponse(
        what + ": " + parsed.status().message() +
        (mismatch ? " (options.dim does not match the model, or the model changed)" : ""));
  }
  if (learning) {
    int unknown = 0;
    // Concurrent first batches may each learn it; the first wins and a
    // different answer from another batch is a mismatch.
    if (!dim->compare_exchange_strong(unknown, expected) && unknown != expected) {
      co_return net::TryOutcome::BadResponse(
          fmt::format("{}: responses disagree on the embedding dimension ({} and {})", what, unknown, expected));
    }
  }
  *vectors = std::move(parsed).value();
  co_return net::TryOutcome::Ok();
}

void Normalise(float* row, int dim) {
  double norm = 0;
  for (int i = 0; i < dim; ++i) norm += double(row[i]) * row[i];
  if (norm <= 0) return;
  float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (int i = 0; i < dim; ++i) row[i] *= inv;
}

}  // namespace

Result<std::unique_ptr<RemoteEmbedder>> RemoteEmbedder::Create(RemoteEmbedderOptions options) {
  Result<net::Url> url = net::Url::Parse(net::JoinUrl(options.base_url, "embeddings"));
  if (!url.ok()) return InvalidArgument("embedder base_url: " + url.status().message());
  if (options.model.empty()) return InvalidArgument("embedder model name is empty");
  if (options.dim < 0 || options.dim > 65536) return InvalidArgument("embedder dim must be in [0, 65536]");
  if (options.batch_size < 1) return InvalidArgument("embedder batch_size must be at least 1");
  if (options.max_concurrent < 1) return InvalidArgument("embedder max_concurrent must be at least 1");
  if (options.max_tries < 1) return InvalidArgument("embedder max_tries must be at least 1");
  if (options.per_try_timeout.count() <= 0 || options.call_timeout.count() <= 0) {
    return InvalidArgument("embedder timeouts must be positive");
  }
  std::unique_ptr<RemoteEmbedder> embedder(new RemoteEmbedder(std::move(options)));
  if (embedder->dim() == 0) {
    Status probe = embedder->EmbedBatches({"dimension probe"}, false, nullptr);
    if (!probe.ok()) return Status(probe.code(), "learning the embedding dimension: " + probe.message());
  }
  return embedder;
}

RemoteEmbedder::RemoteEmbedder(RemoteEmbedderOptions options)
    : options_(std::move(options)),
      endpoint_(net::JoinUrl(options_.base_url, "embeddings")),
      what_("embeddings at " + endpoint_),
      io_(std::make_unique<asio::io_context>(1)),
      http_(std::make_unique<net::HttpClient>(io_->get_executor())) {
  dim_.store(options_.dim, std::memory_order_release);
  caller_ = std::make_unique<net::ResilientCaller>(
      "remote:" + options_.model, net::ResilienceFrom(options_),
      net::CallMetrics::Register(options_.metrics, "lathe_embedding", "embedding requests"));
  thread_ = std::thread([io = io_.get()] {
    auto work = asio::make_work_guard(*io);
    io->run();
  });
}

RemoteEmbedder::~RemoteEmbedder() {
  io_->stop();
  if (thread_.joinable()) thread_.join();
  http_->CloseIdle();  // its sockets belong to io_
  // Destroy leftover coroutine frames while the caller they hold permits of lives.
  io_.reset();
}

std::string RemoteEmbedder::id() const { return "remote:" + options_.model + ":d" + std::to_string(dim()); }

Status RemoteEmbedder::Embed(const std::vector<std::string>& texts, bool is_query, float* out) const {
  if (texts.empty()) return Status::OK();
  if (out == nullptr) return InvalidArgument("RemoteEmbedder::Embed: out is null");
  return EmbedBatches(texts, is_query, out);
}

// Embeds texts[begin, end) in one request (with the caller's retries) into
// out's rows begin..end; out == nullptr only learns the dimension (the probe).
// Runs on the embedder's I/O thread.
asio::awaitable<Status> RemoteEmbedder::EmbedBatch(const std::vector<std::string>* texts, size_t begin, size_t end,
                                                   bool is_query, float* out, Clock::time_point deadline) const {
  const std::string& prefix = is_query ? options_.query_prefix : options_.passage_prefix;
  nlohmann::json input = nlohmann::json::array();
  for (size_t i = begin; i < end; ++i) input.push_back(prefix + (*texts)[i]);
  const std::string body = nlohmann::json{{"model", options_.model}, {"input", std::move(input)},
                                          {"encoding_format", "float"}}
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::vector<float> vectors;
  Status status = co_await caller_->Run(deadline, [&](milliseconds timeout) {
    net::ClientRequest request;
    request.url = endpoint_;
    request.headers.emplace_back("Content-Type", "application/json");
    if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    request.body = body;
    request.timeout = timeout;
    request.deadline = std::min(deadline, Clock::now() + timeout);
    return EmbedOnce(http_.get(), std::move(request), what_, end - begin, &dim_, &vectors);
  });
  if (!status.ok()) co_return status;
  if (out != nullptr) {
    const int d = dim();
    float* rows = out + begin * static_cast<size_t>(d);
    std::memcpy(rows, vectors.data(), vectors.size() * sizeof(float));
    for (size_t i = 0; i < end - begin; ++i) Normalise(rows + i * static_cast<size_t>(d), d);
  }
  co_return Status::OK();
}

Status RemoteEmbedder::EmbedBatches(const std::vector<std::string>& texts, bool is_query, float* out) const {
  const Clock::time_point deadline = Clock::now() + options_.call_timeout;
  const size_t batch = static_cast<size_t>(options_.batch_size);
  auto failed = std::make_shared<std::atomic<bool>>(false);

  // One coroutine per batch on the I/O thread; the limiter inside the caller
  // keeps at most max_concurrent of them talking to the server.
  auto embed_batch = [this, &texts, is_query, out, deadline, failed](size_t begin,
                                                                     size_t end) -> asio::awaitable<Status> {
    if (failed->load()) co_return Status(StatusCode::kUnavailable, "skipped after another batch failed");
    Status status = co_await EmbedBatch(&texts, begin, end, is_query, out, deadline);
    if (!status.ok()) failed->store(true);
    co_return status;
  };

  std::vector<std::future<Status>> futures;
  for (size_t begin = 0; begin < texts.size(); begin += batch) {
    size_t end = std::min(texts.size(), begin + batch);
    futures.push_back(asio::co_spawn(*io_, embed_batch(begin, end), asio::use_future));
  }
  Status first_error;
  for (std::future<Status>& f : futures) {
    Status status;
    try {
      status = f.get();
    } catch (const std::exception& e) {
      status = Internal(std::string("embedding batch failed: ") + e.what());
    }
    // The first real failure, not the "skipped" batches it caused.
    if (!status.ok() && (first_error.ok() || first_error.message().rfind("skipped", 0) == 0)) first_error = status;
  }
  return first_error;
}

asio::awaitable<Status> RemoteEmbedder::EmbedAsync(const std::vector<std::string>& texts, bool is_query, float* out,
                                                   Clock::time_point deadline) const {
  if (texts.empty()) co_return Status::OK();
  if (out == nullptr) co_return InvalidArgument("RemoteEmbedder::EmbedAsync: out is null");
  deadline = std::min(deadline, Clock::now() + options_.call_timeout);
  const size_t batch = static_cast<size_t>(options_.batch_size);
  // The batches one after another on the embedder's I/O thread; the caller
  // resumes on its own executor.
  auto all = [this, &texts, is_query, out, deadline, batch]() -> asio::awaitable<Status> {
    for (size_t begin = 0; begin < texts.size(); begin += batch) {
      Status st = co_await EmbedBatch(&texts, begin, std::min(texts.size(), begin + batch), is_query, out, deadline);
      if (!st.ok()) co_return st;
    }
    co_return Status::OK();
  };
  co_return co_await asio::co_spawn(*io_, all(), asio::use_awaitable);
}

}  // namespace lathe::rag
