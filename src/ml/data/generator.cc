#include "ml/data/generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <random>
#include <unordered_set>

#include <fmt/format.h>

namespace lathe::ml {
namespace {

constexpr double kMapSize = 100.0;
// Customers shop within this radius at the default density (8,000 physical
// terminals: about 78 nearby). Denser maps shrink it to keep that number, so
// building the world stays linear in customers.
constexpr double kMaxRadius = 5.0;
constexpr double kDefaultPhysicalTerminals = 8000;
constexpr double kOnlineTerminalShare = 0.2;
constexpr int kOnlineMerchantsPerCustomer = 5;
constexpr int64_t kIdsPerDay = 100'000'000;

// splitmix64: a tiny, fast, well-mixed generator; seeding it is one store,
// which matters because every (customer, day) gets its own stream.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) : state_(seed) {}
  Rng(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) : state_(Mix(Mix(Mix(seed ^ 0x9e37) + a) + b) + c) {}
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() { return Mix(state_ += 0x9e3779b97f4a7c15ULL); }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  int64_t Below(int64_t n) { return static_cast<int64_t>((*this)() % static_cast<uint64_t>(n)); }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

enum Stream : uint64_t { kCustomers = 1, kTerminals, kCustomerDay, kTerminalCompromise, kCustomerCompromise,
                         kCardTesting, kTakeover, kLabels };

struct Region {
  const char* country;
  const char* currency;
};
constexpr Region kRegions[] = {{"US", "USD"}, {"GB", "GBP"}, {"FR", "EUR"}, {"DE", "EUR"}, {"ES", "EUR"}};

// The map is split into regions: the west half is the US, the east quarters Europe.
int RegionAt(double x, double y) {
  if (x < 50) return 0;
  if (x < 75) return y < 50 ? 1 : 2;
  return y < 50 ? 3 : 4;
}
const char* CurrencyOf(const std::string& country) {
  for (const Region& r : kRegions) {
    if (country == r.country) return r.currency;
  }
  return "USD";
}

struct Category {
  const char* mcc;
  double weight;  // share of terminals
  double amount_factor;
  bool online_capable;
};
constexpr Category kCategories[] = {
    {"5411", 0.22, 0.8, false},  // grocery stores
    {"5812", 0.16, 0.9, false},  // restaurants
    {"5541", 0.10, 0.7, false},  // service stations
    {"5311", 0.12, 1.3, true},   // department stores
    {"5732", 0.06, 2.5, true},   // electronics
    {"5912", 0.08, 0.6, false},  // drug stores
    {"4511", 0.04, 4.0, true},   // airlines
    {"5818", 0.10, 0.5, true},   // digital goods
    {"5999", 0.12, 1.0, true},   // miscellaneous retail
};

const Category& PickCategory(Rng& rng, bool online) {
  double total = 0;
  for (const Category& c : kCategories) total += (!online || c.online_capable) ? c.weight : 0;
  double u = rng.Uniform(0, total);
  for (const Category& c : kCategories) {
    if (online && !c.online_capable) continue;
    if ((u -= c.weight) <= 0) return c;
  }
  return kCategories[0];
}

// Weekly seasonality: Monday .. Sunday (1970-01-01 was a Thursday).
double WeekdayFactor(int64_t day_ts) {
  static constexpr double kFactors[] = {0.95, 0.95, 1.0, 1.0, 1.15, 1.2, 0.75};
  int64_t weekday = ((day_ts / kSecondsPerDay) % 7 + 3) % 7;  // 0 = Monday
  return kFactors[weekday];
}

// Daily seasonality: most spending around early afternoon, little at night.
int64_t SecondOfDay(Rng& rng) {
  std::normal_distribution<double> hour(13.5, 4.5);
  for (;;) {
    double h = hour(rng);
    if (h >= 0 && h < 24) return static_cast<int64_t>(h * 3600);
  }
}

double Round2(double v) { return std::max(0.01, std::round(v * 100) / 100); }

int64_t LabelDelay(Rng& rng) {
  // Chargebacks: median about five days, a long tail up to three months.
  std::lognormal_distribution<double> days(std::log(5.0), 0.8);
  return static_cast<int64_t>(std::clamp(days(rng), 1.0, 90.0) * kSecondsPerDay);
}

int64_t Poisson(Rng& rng, double mean) {
  if (mean <= 0) return 0;
  std::poisson_distribution<int64_t> p(mean);
  return p(rng);
}

// Compromise events starting on one day: the indexes picked that day.
std::vector<int64_t> EventsOn(uint64_t seed, Stream stream, int64_t day_ts, double mean, int64_t population) {
  Rng rng(seed, stream, static_cast<uint64_t>(day_ts));
  int64_t n = Poisson(rng, mean);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n && population > 0; ++i) out.push_back(rng.Below(population));
  return out;
}

// One of the online merchants the customer uses.
int32_t OnlineMerchant(const Customer& c, Rng& rng) {
  return c.online[static_cast<size_t>(rng.Below(static_cast<int64_t>(c.online.size())))];
}

void Label(Transaction* t, FraudScenario s, Rng& rng) {
  t->is_fraud = true;
  t->scenario = s;
  t->label_ts = t->ts + LabelDelay(rng);
}

}  // namespace

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (o.days < 1 || o.days > 36500) return InvalidArgument(fmt::format("--days {} is out of range (1..36500)", o.days));
  if (o.customers < 1 || o.customers > 100'000'000)
    return InvalidArgument(fmt::format("--customers {} is out of range (1..100000000)", o.customers));
  if (o.terminals < 2 || o.terminals > 100'000'000)
    return InvalidArgument(fmt::format("--terminals {} is out of range (2..100000000)", o.terminals));
  if (o.start_ts < 0) return InvalidArgument("--start must be 1970-01-01 or later");
  return Status::OK();
}

World World::Build(const GeneratorOptions& options) {
  World w;
  w.options_ = options;
  Rng trng(options.seed, kTerminals);
  w.terminals_.reserve(static_cast<size_t>(options.terminals));
  std::vector<int32_t> online_terminals;
  for (int64_t i = 0; i < options.terminals; ++i) {
    Terminal t;
    t.id = i + 1;
    t.x = trng.Uniform(0, kMapSize);
    t.y = trng.Uniform(0, kMapSize);
    // At least one online merchant, so every customer can always buy online.
    t.online = i == 0 || trng.Uniform(0, 1) < kOnlineTerminalShare;
    t.country = kRegions[RegionAt(t.x, t.y)].country;
    const Category& c = PickCategory(trng, t.online);
    t.merchant_category = c.mcc;
    t.amount_factor = c.amount_factor;
    if (t.online) online_terminals.push_back(static_cast<int32_t>(i));
    w.terminals_.push_back(std::move(t));
  }
  const double physical = static_cast<double>(w.terminals_.size() - online_terminals.size());
  w.radius_ = std::min(kMaxRadius, kMaxRadius * std::sqrt(kDefaultPhysicalTerminals / std::max(1.0, physical)));
  // A grid of radius-sized cells finds each customer's nearby terminals in O(local).
  const double radius = w.radius_;
  const int cells = std::max(1, static_cast<int>(kMapSize / radius));
  std::vector<std::vector<int32_t>> grid(static_cast<size_t>(cells * cells));
  auto cell = [&](double v) { return std::clamp(static_cast<int>(v / radius), 0, cells - 1); };
  for (size_t i = 0; i < w.terminals_.size(); ++i) {
    const Terminal& t = w.terminals_[i];
    if (!t.online) grid[static_cast<size_t>(cell(t.x) * cells + cell(t.y))].push_back(static_cast<int32_t>(i));
  }
  Rng crng(options.seed, kCustomers);
  w.customers_.reserve(static_cast<size_t>(options.customers));
  for (int64_t i = 0; i < options.customers; ++i) {
    Customer c;
    c.id = i + 1;
    c.x = crng.Uniform(0, kMapSize);
    c.y = crng.Uniform(0, kMapSize);
    c.country = kRegions[RegionAt(c.x, c.y)].country;
    c.mean_amount = std::round(crng.Uniform(5, 100) * 100) / 100;
    c.std_amount = std::round(c.mean_amount / 2 * 100) / 100;
    c.tx_per_day = std::round(crng.Uniform(0, 4) * 100) / 100;
    c.online_share = crng.Uniform(0.05, 0.4);
    int cx = cell(c.x), cy = cell(c.y);
    for (int gx = std::max(0, cx - 1); gx <= std::min(cells - 1, cx + 1); ++gx) {
      for (int gy = std::max(0, cy - 1); gy <= std::min(cells - 1, cy + 1); ++gy) {
        for (int32_t ti : grid[static_cast<size_t>(gx * cells + gy)]) {
          const Terminal& t = w.terminals_[static_cast<size_t>(ti)];
          if (std::hypot(t.x - c.x, t.y - c.y) <= radius) c.nearby.push_back(ti);
        }
      }
    }
    std::sort(c.nearby.begin(), c.nearby.end());
    for (int k = 0; k < kOnlineMerchantsPerCustomer; ++k)
      c.online.push_back(online_terminals[static_cast<size_t>(crng.Below(static_cast<int64_t>(online_terminals.size())))]);
    w.customers_.push_back(std::move(c));
  }
  return w;
}

std::vector<Transaction> World::GenerateDay(int64_t day_ts) const {
  const GeneratorOptions& o = options_;
  const int64_t n_customers = static_cast<int64_t>(customers_.size());
  const int64_t n_terminals = static_cast<int64_t>(terminals_.size());
  // Compromises that started on this day or within their duration before it.
  std::unordered_set<int64_t> bad_terminals, bad_customers;
  for (int d = 0; d < o.compromised_terminal_days; ++d) {
    for (int64_t t : EventsOn(o.seed, kTerminalCompromise, day_ts - d * kSecondsPerDay,
                              o.compromised_terminals_per_day * static_cast<double>(n_terminals), n_terminals))
      bad_terminals.insert(t);
  }
  for (int d = 0; d < o.compromised_customer_days; ++d) {
    for (int64_t c : EventsOn(o.seed, kCustomerCompromise, day_ts - d * kSecondsPerDay,
                              o.compromised_customers_per_day * static_cast<double>(n_customers), n_customers))
      bad_customers.insert(c);
  }

  std::vector<Transaction> out;
  out.reserve(static_cast<size_t>(static_cast<double>(n_customers) * 2.2));
  const double weekday = WeekdayFactor(day_ts);
  auto make = [&](const Customer& c, const Terminal& t, int64_t ts, double amount) {
    Transaction tx;
    tx.ts = ts;
    tx.customer_id = c.id;
    tx.terminal_id = t.id;
    tx.amount = Round2(amount);
    tx.channel = t.online ? "online" : "card_present";
    tx.merchant_category = t.merchant_category;
    // Card-present: where the terminal is. Online: where the customer is (IP geolocation).
    tx.country = t.online ? c.country : t.country;
    tx.currency = CurrencyOf(tx.country);
    if (t.online) tx.device_id = fmt::format("d{}", c.id);
    return tx;
  };

  for (int64_t ci = 0; ci < n_customers; ++ci) {
    const Customer& c = customers_[static_cast<size_t>(ci)];
    Rng rng(o.seed, kCustomerDay, static_cast<uint64_t>(c.id), static_cast<uint64_t>(day_ts));
    int64_t n = Poisson(rng, c.tx_per_day * weekday);
    const bool compromised = bad_customers.count(ci) > 0;
    std::normal_distribution<double> amount_dist(c.mean_amount, c.std_amount);
    for (int64_t k = 0; k < n; ++k) {
      bool online = c.nearby.empty() || rng.Uniform(0, 1) < c.online_share;
      int32_t ti = online ? OnlineMerchant(c, rng)
                          : c.nearby[static_cast<size_t>(rng.Below(static_cast<int64_t>(c.nearby.size())))];
      const Terminal& t = terminals_[static_cast<size_t>(ti)];
      double amount = amount_dist(rng);
      if (amount <= 0) amount = rng.Uniform(0, 2 * c.mean_amount);
      amount *= t.amount_factor;
      Transaction tx = make(c, t, day_ts + SecondOfDay(rng), amount);
      if (rng.Uniform(0, 1) < o.large_amount_rate) {
        tx.amount = Round2(std::max(amount, c.mean_amount) * rng.Uniform(6, 15) + 150);
        Label(&tx, FraudScenario::kLargeAmount, rng);
      } else if (bad_terminals.count(ti)) {
        Label(&tx, FraudScenario::kCompromisedTerminal, rng);
      } else if (compromised && rng.Uniform(0, 1) < 1.0 / 3) {
        tx.amount = Round2(tx.amount * 5);
        Label(&tx, FraudScenario::kCompromisedCustomer, rng);
      }
      out.push_back(std::move(tx));
    }
  }

  // Card testing: a burst of 5-20 tiny amounts within minutes at one online
  // merchant from a device the customer never used.
  {
    Rng rng(o.seed, kCardTesting, static_cast<uint64_t>(day_ts));
    int64_t bursts = Poisson(rng, o.card_testing_per_day * static_cast<double>(n_customers));
    for (int64_t b = 0; b < bursts; ++b) {
      const Customer& c = customers_[static_cast<size_t>(rng.Below(n_customers))];
      const Terminal& t = terminals_[static_cast<size_t>(OnlineMerchant(c, rng))];
      int64_t ts = day_ts + rng.Below(kSecondsPerDay - 3600);
      int64_t count = 5 + rng.Below(16);
      std::string device = fmt::format("ct{}-{}", day_ts / kSecondsPerDay, b);
      for (int64_t k = 0; k < count; ++k) {
        ts += 5 + rng.Below(90);
        Transaction tx = make(c, t, ts, rng.Uniform(0.5, 2.99));
        tx.device_id = device;
        Label(&tx, FraudScenario::kCardTesting, rng);
        out.push_back(std::move(tx));
      }
    }
  }
  // Account takeover: a new device in another country spends 2-6x the
  // customer's mean, 2-6 times within a few hours.
  {
    Rng rng(o.seed, kTakeover, static_cast<uint64_t>(day_ts));
    int64_t takeovers = Poisson(rng, o.account_takeovers_per_day * static_cast<double>(n_customers));
    for (int64_t a = 0; a < takeovers; ++a) {
      const Customer& c = customers_[static_cast<size_t>(rng.Below(n_customers))];
      std::string country = c.country;
      while (country == c.country) country = kRegions[rng.Below(std::size(kRegions))].country;
      std::string device = fmt::format("ato{}-{}", day_ts / kSecondsPerDay, a);
      int64_t ts = day_ts + rng.Below(kSecondsPerDay - 6 * 3600);
      int64_t count = 2 + rng.Below(5);
      for (int64_t k = 0; k < count; ++k) {
        const Terminal& t = terminals_[static_cast<size_t>(OnlineMerchant(c, rng))];
        ts += 60 + rng.Below(3600);
        Transaction tx = make(c, t, ts, c.mean_amount * rng.Uniform(2, 6) * t.amount_factor);
        tx.country = country;
        tx.currency = CurrencyOf(country);
        tx.device_id = device;
        Label(&tx, FraudScenario::kAccountTakeover, rng);
        out.push_back(std::move(tx));
      }
    }
  }

  std::stable_sort(out.begin(), out.end(), [](const Transaction& a, const Transaction& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.customer_id < b.customer_id;
  });
  const int64_t base = day_ts / kSecondsPerDay * kIdsPerDay;
  for (size_t i = 0; i < out.size(); ++i) out[i].transaction_id = base + static_cast<int64_t>(i) + 1;
  return out;
}

namespace {

Status WriteWorld(storage::Db* db, const World& w) {
  LATHE_RETURN_IF_ERROR(db->Exec("DELETE FROM customers"));
  LATHE_RETURN_IF_ERROR(db->Exec("DELETE FROM terminals"));
  {
    LATHE_ASSIGN_OR_RETURN(auto bw, db->BulkInsert("customers", {"customer_id", "x", "y", "country", "mean_amount",
                                                                 "std_amount", "tx_per_day"}));
    for (const Customer& c : w.customers()) {
      bw->Int(c.id);
      bw->Double(c.x);
      bw->Double(c.y);
      bw->Text(c.country);
      bw->Double(c.mean_amount);
      bw->Double(c.std_amount);
      bw->Double(c.tx_per_day);
      LATHE_RETURN_IF_ERROR(bw->EndRow());
    }
    LATHE_RETURN_IF_ERROR(bw->Finish());
  }
  LATHE_ASSIGN_OR_RETURN(auto bw, db->BulkInsert("terminals", {"terminal_id", "x", "y", "country",
                                                               "merchant_category", "channel"}));
  for (const Terminal& t : w.terminals()) {
    bw->Int(t.id);
    bw->Double(t.x);
    bw->Double(t.y);
    bw->Text(t.country);
    bw->Text(t.merchant_category);
    bw->Text(t.online ? "online" : "card_present");
    LATHE_RETURN_IF_ERROR(bw->EndRow());
  }
  return bw->Finish();
}

}  // namespace

Result<GeneratorStats> Generate(storage::Db* db, const GeneratorOptions& options,
                                const std::function<void(int64_t, const GeneratorStats&)>& progress) {
  LATHE_RETURN_IF_ERROR(ValidateGeneratorOptions(options));
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  GeneratorStats stats;
  const World world = World::Build(options);
  const int64_t end_ts = options.start_ts + options.days * kSecondsPerDay;
  {
    storage::DbTransaction tx(db);
    LATHE_RETURN_IF_ERROR(tx.status());
    LATHE_RETURN_IF_ERROR(WriteWorld(db, world));
    LATHE_RETURN_IF_ERROR(
        db->Execute("DELETE FROM transactions WHERE ts >= $1 AND ts < $2", {options.start_ts, end_ts}).status());
    LATHE_RETURN_IF_ERROR(tx.Commit());
  }
  auto generate = [&world](int64_t day) {
    auto g0 = Clock::now();
    std::vector<Transaction> rows = world.GenerateDay(day);
    return std::make_pair(std::move(rows), std::chrono::duration<double>(Clock::now() - g0).count());
  };
  auto next = std::async(std::launch::async, generate, options.start_ts);
  for (int64_t day = options.start_ts; day < end_ts; day += kSecondsPerDay) {
    auto [rows, gen_seconds] = next.get();
    if (day + kSecondsPerDay < end_ts) next = std::async(std::launch::async, generate, day + kSecondsPerDay);
    stats.generate_seconds += gen_seconds;
    LATHE_ASSIGN_OR_RETURN(auto bw, db->BulkInsert("transactions", std::vector<std::string>(
                                                                       TransactionColumns().begin(),
                                                                       TransactionColumns().end())));
    for (const Transaction& t : rows) {
      LATHE_RETURN_IF_ERROR(WriteTransaction(bw.get(), t));
      ++stats.by_scenario[static_cast<size_t>(t.scenario)];
      stats.frauds += t.is_fraud;
    }
    LATHE_RETURN_IF_ERROR(bw->Finish());
    stats.rows += static_cast<int64_t>(rows.size());
    if (progress) progress(day, stats);
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return stats;
}

}  // namespace lathe::ml
