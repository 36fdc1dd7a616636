// Metrics: counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics.
// Families are registered once (at start-up) and live as long as the
// registry; updating a series is lock-free after its first use. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lathe::net {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void Add(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative counts per bound (+Inf last), sum and count, read together.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_->size() + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

template <typename Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  // The series for these label values, created on first use. The reference
  // stays valid for the family's lifetime.
  Series& With(const LabelValues& values);

 private:
  friend class MetricsRegistry;
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;  // guarded by mu_
};

class MetricsRegistry {
 public:
  // Add* return the existing family when one of that kind and name is already
  // registered (its help, labels and bounds are kept), so that several
  // clients of the same kind can share a registry.
  Family<Counter>* AddCounter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>* AddGauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  // bounds: ascending upper bounds (seconds for latencies); +Inf is implied.
  Family<Histogram>* AddHistogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                  std::vector<double> bounds);
  // Latency buckets from 1 ms to 60 s.
  static std::vector<double> LatencyBuckets();

  // All families in registration order, in Prometheus text format.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::pair<char, size_t>> order_;  // ('c'|'g'|'h', index)
};

}  // namespace lathe::net
