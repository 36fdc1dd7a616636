#include "ml/features/online.h"

#include <fmt/format.h>

#include <algorithm>

#include "ml/features/feature_math.h"

namespace lathe::ml {

namespace fm = features_math;

OnlineFeatures::OnlineFeatures(FeatureSpec spec) : spec_(std::move(spec)) {
  for (const FeatureDef& f : spec_.features) {
    if (IsCustomerKind(f.kind)) customer_span_ = std::max(customer_span_, f.window_s);
    if (IsTerminalKind(f.kind)) terminal_span_ = std::max(terminal_span_, f.delay_s + f.window_s);
  }
}

Result<std::vector<float>> OnlineFeatures::Add(const OnlineTransaction& tx) {
  auto out_of_order = [&](bool any, int64_t ts, int64_t id) {
    return any && (tx.ts < ts || (tx.ts == ts && tx.transaction_id <= id));
  };
  auto cit = customers_.find(tx.customer_id);
  auto tit = terminals_.find(tx.terminal_id);
  if (cit != customers_.end() && out_of_order(cit->second.any, cit->second.last_ts, cit->second.last_id))
    return FailedPrecondition(fmt::format("online features: transaction {} at {} is not after customer {}'s last one",
                                          tx.transaction_id, tx.ts, tx.customer_id));
  const bool terminal_late =
      tit != terminals_.end() && out_of_order(tit->second.any, tit->second.last_ts, tit->second.last_id);
  if (terminal_late && (tx.ts < tit->second.last_ts - kTerminalLateSeconds ||
                        (tx.ts == tit->second.last_ts && tx.transaction_id == tit->second.last_id)))
    return FailedPrecondition(
        fmt::format("online features: transaction {} at {} is more than {} s before terminal {}'s last one",
                    tx.transaction_id, tx.ts, kTerminalLateSeconds, tx.terminal_id));
  Customer& c = customers_[tx.customer_id];
  Terminal& term = terminals_[tx.terminal_id];
  const int64_t t = tx.ts;

  // The customer's windows include this transaction.
  while (!c.recent.empty() && c.recent.front().ts <= t - customer_span_) c.recent.pop_front();
  c.recent.push_back({t, tx.transaction_id, tx.amount});
  // Keep kTerminalLateSeconds more than the windows need, for late arrivals.
  const int64_t terminal_newest = terminal_late ? term.last_ts : t;
  while (!term.recent.empty() && term.recent.front().ts <= terminal_newest - terminal_span_ - kTerminalLateSeconds)
    term.recent.pop_front();

  auto amount = [](const CustomerTx& e) { return e.amount; };
  std::vector<float> out(spec_.features.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const FeatureDef& f = spec_.features[i];
    auto first =
        std::find_if(c.recent.begin(), c.recent.end(), [&](const CustomerTx& e) { return e.ts > t - f.window_s; });
    const double count = static_cast<double>(c.recent.end() - first);
    switch (f.kind) {
      case FeatureKind::kCustomerCount:
        out[i] = static_cast<float>(count);
        break;
      case FeatureKind::kCustomerSum:
        out[i] = static_cast<float>(fm::Sum(first, c.recent.end(), amount));
        break;
      case FeatureKind::kCustomerMean:
        out[i] = static_cast<float>(fm::Sum(first, c.recent.end(), amount) / count);
        break;
      case FeatureKind::kAmountZscore:
        out[i] = fm::Zscore(tx.amount, first, c.recent.end() - 1, amount, f.missing);
        break;
      case FeatureKind::kTimeSincePrevious:
        out[i] = c.any ? static_cast<float>(t - c.last_ts) : f.missing;
        break;
      case FeatureKind::kTxPerHour:
        out[i] = fm::Rate(count, f.window_s);
        break;
      case FeatureKind::kFirstTerminal:
        out[i] = c.terminals.count(tx.terminal_id) ? 0.0f : 1.0f;
        break;
      case FeatureKind::kFirstDevice:
        out[i] = !tx.device_id.empty() && !c.devices.count(tx.device_id) ? 1.0f : 0.0f;
        break;
      case FeatureKind::kTerminalCount:
      case FeatureKind::kTerminalRisk: {
        // Earlier transactions at the terminal with ts in (t-D-W, t-D].
        int64_t n = 0, frauds = 0;
        for (const TerminalTx& e : term.recent) {
          if (e.ts <= t - f.delay_s - f.window_s || e.ts > t - f.delay_s) continue;
          if (e.ts > t || (e.ts == t && e.id >= tx.transaction_id)) continue;  // later: a late tx came after it
          ++n;
          frauds += e.fraud_known_at <= t;
        }
        out[i] = f.kind == FeatureKind::kTerminalCount ? static_cast<float>(n) : fm::Risk(frauds, n, f.missing);
        break;
      }
      default:
        out[i] = fm::RowFeature(f, t, tx.amount);
        break;
    }
  }

  c.terminals.insert(tx.terminal_id);
  if (!tx.device_id.empty()) c.devices.insert(tx.device_id);
  c.any = true, c.last_ts = t, c.last_id = tx.transaction_id;
  if (!terminal_late) {
    term.recent.push_back({t, tx.transaction_id});
    term.any = true, term.last_ts = t, term.last_id = tx.transaction_id;
  } else {  // in (ts, id) order; last_ts and last_id stay the newest
    auto at = term.recent.end();
    while (at != term.recent.begin()) {
      auto prev = std::prev(at);
      if (prev->ts < t || (prev->ts == t && prev->id < tx.transaction_id)) break;
      at = prev;
    }
    term.recent.insert(at, TerminalTx{t, tx.transaction_id});
  }
  return out;
}

bool OnlineFeatures::AddFraudLabel(int64_t terminal_id, int64_t transaction_id, int64_t label_ts) {
  auto it = terminals_.find(terminal_id);
  if (it == terminals_.end()) return false;
  for (TerminalTx& e : it->second.recent) {
    if (e.id == transaction_id) {
      e.fraud_known_at = label_ts;
      return true;
    }
  }
  return false;
}

}  // namespace lathe::ml
