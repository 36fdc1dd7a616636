#include "ml/serve/model_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "common/clock.h"
#include "common/logging.h"
#include "ml/data/transaction.h"

namespace lathe::ml {

ModelServer::ModelServer(ModelServerOptions options, ModelLoader loader, ModelVersionProbe probe,
                         StoreOpener open_store)
    : options_(std::move(options)),
      loader_(std::move(loader)),
      probe_(std::move(probe)),
      open_store_(std::move(open_store)) {}

ModelServer::~ModelServer() { Stop(); }

int64_t ModelServer::Now() const { return options_.now ? options_.now() : UnixSeconds(); }

void ModelServer::Start() {
  (void)Reload(false);
  if (options_.poll_seconds > 0 && probe_ && !poller_.joinable()) poller_ = std::thread([this] { PollLoop(); });
}

void ModelServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    stop_ = true;
  }
  poll_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void ModelServer::PollLoop() {
  std::unique_lock<std::mutex> lock(poll_mu_);
  while (!poll_cv_.wait_for(lock, std::chrono::seconds(options_.poll_seconds), [this] { return stop_; })) {
    lock.unlock();
    if (auto labels = RefreshLabels(); !labels.ok())
      LOG_WARN("model '{}': reading new fraud labels failed: {}", options_.name, labels.status().message());
    auto version = probe_(options_.name);
    if (!version.ok()) {
      LOG_WARN("model '{}': version probe failed: {}", options_.name, version.status().message());
    } else if (version->has_value()) {
      auto cur = current();
      if (!cur || cur->version() != **version) (void)Reload(false);
    }
    lock.lock();
  }
}

void ModelServer::RecordError(const Status& st, int64_t version) {
  LOG_ERROR("model swap failed: {}", st.message());
  if (options_.on_swap) options_.on_swap("error", version);
  std::lock_guard<std::mutex> lock(status_mu_);
  last_error_ = SwapError{st.message(), version, Now()};
}

Result<std::optional<int64_t>> ModelServer::Reload(bool force) {
  std::lock_guard<std::mutex> swap_lock(swap_mu_);
  auto serving = [this]() -> std::optional<int64_t> {
    auto cur = current();
    if (!cur) return std::nullopt;
    return cur->version();
  };
  auto bundle = loader_(options_.name);
  if (!bundle.ok()) {
    Status st(bundle.status().code(),
              fmt::format("model '{}': cannot read the champion: {}", options_.name, bundle.status().message()));
    RecordError(st, 0);
    return st;
  }
  if (!bundle->has_value()) return serving();  // no champion: keep whatever serves
  const ModelBundle& b = **bundle;
  auto cur = current();
  if (cur && cur->version() == b.version) return serving();
  if (!force && b.version == failed_version_) return serving();
  auto loaded = LoadModel(b, Now());
  if (!loaded.ok()) {
    failed_version_ = b.version;
    Status st(loaded.status().code(), loaded.status().message() + (cur ? fmt::format("; version {} keeps serving", cur->version())
                                                                         : std::string("; no version is serving")));
    RecordError(st, b.version);
    return st;
  }
  bool have_state;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    have_state = state_ != nullptr;
    if (have_state && !SameFeatures(state_spec_, (*loaded)->spec())) {
      failed_version_ = b.version;
      Status st = FailedPrecondition(fmt::format(
          "model '{}' version {}: its feature spec '{}' differs from the one the online state was built for ('{}'); "
          "restart the server to rebuild the state for it{}",
          b.name, b.version, (*loaded)->spec().name, state_spec_.name,
          cur ? fmt::format("; version {} keeps serving", cur->version()) : std::string()));
      RecordError(st, b.version);
      return st;
    }
  }
  if (!have_state) {
    Status st = BuildState((*loaded)->spec());
    if (!st.ok()) {
      st = Status(st.code(), fmt::format("model '{}' version {}: rebuilding the online state from the store: {}",
                                         b.name, b.version, st.message()));
      RecordError(st, b.version);
      return st;
    }
  }
  {
    std::lock_guard<std::mutex> lock(current_mu_);
    current_ = *loaded;  // the old version lives on in the requests still holding it
  }
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    last_error_.reset();
    ++swaps_;
  }
  failed_version_ = -1;
  if (options_.on_swap) options_.on_swap("ok", b.version);
  LOG_INFO("model '{}': version {} ({}) serving{}", b.name, b.version, b.kind,
           cur ? fmt::format(", replacing version {}", cur->version()) : std::string());
  return serving();
}

Status ModelServer::BuildState(const FeatureSpec& spec) {
  if (!open_store_) return FailedPrecondition("no store to rebuild the online state from");
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, open_store_());
  const int64_t now = Now();
  const int64_t lookback = spec.LookbackSeconds();
  auto state = std::make_unique<OnlineFeatures>(spec);
  std::unordered_map<int64_t, int64_t> seen;
  std::deque<std::pair<int64_t, int64_t>> order;
  struct Label {
    int64_t terminal, id, label_ts;
  };
  std::vector<Label> labels;
  size_t rows = 0;
  // The longest window plus label delay before now, in (ts, id) order: what
  // every feature of a transaction at now or later can read.
  LATHE_RETURN_IF_ERROR(db->Query(
      "SELECT transaction_id, ts, customer_id, terminal_id, amount, device_id, is_fraud, label_ts FROM transactions "
      "WHERE ts >= $1 ORDER BY ts, transaction_id",
      {now - lookback}, [&](const storage::DbRow& r) -> Status {
        OnlineTransaction tx;
        tx.transaction_id = r.Int(0);
        tx.ts = r.Int(1);
        tx.customer_id = r.Int(2);
        tx.terminal_id = r.Int(3);
        tx.amount = r.Double(4);
        if (!r.IsNull(5)) tx.device_id = std::string(r.Text(5));
        LATHE_RETURN_IF_ERROR(state->Add(tx).status());
        seen.emplace(tx.transaction_id, tx.ts);
        order.emplace_back(tx.ts, tx.transaction_id);
        // Labels known by now; later chargebacks are not known yet.
        if (r.Int(6) != 0 && !r.IsNull(7) && r.Int(7) <= now) labels.push_back({tx.terminal_id, tx.transaction_id, r.Int(7)});
        ++rows;
        return Status::OK();
      }));
  for (const Label& l : labels) state->AddFraudLabel(l.terminal, l.id, l.label_ts);
  LOG_INFO("model '{}': online state rebuilt from {} transactions since {} ({} customers, {} terminals, {} fraud labels)",
           options_.name, rows, FormatTimestamp(now - lookback), state->customers(), state->terminals(),
           labels.size());
  std::lock_guard<std::mutex> lock(state_mu_);
  state_ = std::move(state);
  state_spec_ = spec;
  seen_ = std::move(seen);
  seen_order_ = std::move(order);
  lookback_ = lookback;
  labels_until_ = now;
  return Status::OK();
}

Result<size_t> ModelServer::RefreshLabels() {
  int64_t from = 0, lookback = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (!state_) return size_t{0};
    from = labels_until_, lookback = lookback_;
  }
  const int64_t now = Now();
  if (now <= from) return size_t{0};
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, open_store_());
  struct Label {
    int64_t terminal, id, label_ts;
  };
  std::vector<Label> labels;
  LATHE_RETURN_IF_ERROR(db->Query(
      "SELECT terminal_id, transaction_id, label_ts FROM transactions WHERE is_fraud <> 0 AND label_ts > $1 AND "
      "label_ts <= $2 AND ts >= $3",
      {from, now, now - lookback}, [&](const storage::DbRow& r) {
        labels.push_back({r.Int(0), r.Int(1), r.Int(2)});
        return Status::OK();
      }));
  std::lock_guard<std::mutex> lock(state_mu_);
  size_t delivered = 0;
  for (const Label& l : labels) delivered += state_->AddFraudLabel(l.terminal, l.id, l.label_ts);
  labels_until_ = std::max(labels_until_, now);
  return delivered;
}

Result<PredictOutcome> ModelServer::Predict(const std::vector<OnlineTransaction>& txs, bool explain) {
  PredictOutcome out;
  out.model = current();
  if (!out.model) return Unavailable(fmt::format("model '{}' has no version loaded yet", options_.name));
  const size_t cols = out.model->spec().features.size();
  out.predictions.resize(txs.size());
  std::vector<float> matrix;
  std::vector<size_t> rows;  // prediction index of each matrix row
  const int64_t now = Now();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (size_t i = 0; i < txs.size(); ++i) {
      const OnlineTransaction& tx = txs[i];
      Prediction& p = out.predictions[i];
      p.transaction_id = tx.transaction_id;
      if (tx.ts > now + options_.max_future_seconds) {
        p.status = InvalidArgument(fmt::format("transaction {} is dated {} s in the future (at most {} s ahead of the "
                                               "server's clock is accepted)",
                                               tx.transaction_id, tx.ts - now, options_.max_future_seconds));
        continue;
      }
      if (seen_.count(tx.transaction_id)) {
        p.status = Status(StatusCode::kAlreadyExists,
                          fmt::format("transaction {} was already scored or is in the store; each transaction is "
                                      "added to the online state once",
                                      tx.transaction_id));
        continue;
      }
      auto features = state_->Add(tx);
      if (!features.ok()) {
        p.status = features.status();
        continue;
      }
      seen_.emplace(tx.transaction_id, tx.ts);
      seen_order_.emplace_back(tx.ts, tx.transaction_id);
      // Ids older than every window (by the server's clock, so that a wrong
      // timestamp cannot flush them) are forgotten, approximately in ts order.
      while (!seen_order_.empty() && seen_order_.front().first < now - lookback_) {
        seen_.erase(seen_order_.front().second);
        seen_order_.pop_front();
      }
      p.features = std::move(*features);
      matrix.insert(matrix.end(), p.features.begin(), p.features.end());
      rows.push_back(i);
    }
  }
  if (rows.empty()) return out;
  LATHE_ASSIGN_OR_RETURN(RowScores scores, out.model->Score(DenseView{matrix.data(), rows.size(), cols}, explain));
  const auto& names = out.model->spec().features;
  const size_t width = cols + 1;
  std::vector<size_t> order(cols);
  for (size_t r = 0; r < rows.size(); ++r) {
    Prediction& p = out.predictions[rows[r]];
    p.probability = scores.probability[r];
    p.fraud = p.probability >= out.model->threshold();
    if (!explain) continue;
    const float* contrib = scores.contributions.data() + r * width;
    p.bias = contrib[cols];
    p.margin = std::accumulate(contrib, contrib + width, 0.0f);
    std::iota(order.begin(), order.end(), size_t{0});
    const size_t k = std::min(options_.top_features, cols);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](size_t a, size_t b) {
      const float x = std::fabs(contrib[a]), y = std::fabs(contrib[b]);
      return x != y ? x > y : a < b;
    });
    for (size_t j = 0; j < k; ++j) p.top.push_back({names[order[j]].name, p.features[order[j]], contrib[order[j]]});
  }
  return out;
}

ModelServerStatus ModelServer::status() const {
  ModelServerStatus s;
  s.current = current();
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    s.last_error = last_error_;
    s.swaps = swaps_;
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  if (state_) s.customers = state_->customers(), s.terminals = state_->terminals();
  return s;
}

}  // namespace lathe::ml
