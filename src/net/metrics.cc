#include "net/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace lathe::net {
namespace {

void AtomicAdd(std::atomic<double>* a, double v) {
  double old = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// {a="x",b="y"} with an optional extra label (le for buckets).
std::string Labels(const std::vector<std::string>& names, const LabelValues& values, const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

void Counter::Add(double v) { AtomicAdd(&value_, v); }
void Gauge::Add(double v) { AtomicAdd(&value_, v); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = running;
  return s;
}

template <typename Series>
Series& Family<Series>::With(const LabelValues& values) {
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    if constexpr (std::is_same_v<Series, Histogram>) {
      it = series_.emplace(values, std::make_unique<Histogram>(&bounds_)).first;
    } else {
      it = series_.emplace(values, std::make_unique<Series>()).first;
    }
  }
  return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>* MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  for (auto& family : counters_) {
    if (family->name_ == name) return family.get();
  }
  counters_.push_back(std::make_unique<Family<Counter>>(name, help, std::move(labels)));
  order_.push_back({'c', counters_.size() - 1});
  return counters_.back().get();
}

Family<Gauge>* MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  for (auto& family : gauges_) {
    if (family->name_ == name) return family.get();
  }
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(labels)));
  order_.push_back({'g', gauges_.size() - 1});
  return gauges_.back().get();
}

Family<Histogram>* MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  for (auto& family : histograms_) {
    if (family->name_ == name) return family.get();
  }
  histograms_.push_back(std::make_unique<Family<Histogram>>(name, help, std::move(labels)));
  histograms_.back()->bounds_ = std::move(bounds);
  order_.push_back({'h', histograms_.size() - 1});
  return histograms_.back().get();
}

std::vector<double> MetricsRegistry::LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto header = [&](const std::string& name, const std::string& help, const char* type) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  for (auto [kind, index] : order_) {
    if (kind == 'c' || kind == 'g') {
      auto render = [&](auto& family, const char* type) {
        header(family.name_, family.help_, type);
        std::lock_guard series_lock(family.mu_);
        for (auto& [values, series] : family.series_) {
          out += family.name_ + Labels(family.labels_, values) + " " + FormatValue(series->value()) + "\n";
        }
      };
      if (kind == 'c') render(*counters_[index], "counter");
      else render(*gauges_[index], "gauge");
      continue;
    }
    auto& family = *histograms_[index];
    header(family.name_, family.help_, "histogram");
    std::lock_guard series_lock(family.mu_);
    for (auto& [values, series] : family.series_) {
      Histogram::Snapshot s = series->Read();
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        std::string le = i < family.bounds_.size() ? FormatValue(family.bounds_[i]) : "+Inf";
        out += family.name_ + "_bucket" + Labels(family.labels_, values, "le=\"" + le + "\"") + " " +
               std::to_string(s.cumulative[i]) + "\n";
      }
      out += family.name_ + "_sum" + Labels(family.labels_, values) + " " + FormatValue(s.sum) + "\n";
      out += family.name_ + "_count" + Labels(family.labels_, values) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace lathe::net
