#include "ml/features/feature_spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "common/file_util.h"
#include "ml/validate/suite.h"  // ParseDuration

namespace lathe::ml {
namespace {

constexpr int64_t kMaxSpan = 365 * 86400;

struct KindInfo {
  FeatureKind kind;
  const char* name;
  bool window;          // requires 'window'
  bool delay;           // accepts 'delay'
  bool hours;           // accepts from_hour / to_hour
  bool can_be_missing;  // accepts 'missing'
};

const std::vector<KindInfo>& Kinds() {
  static const std::vector<KindInfo> kKinds = {
      {FeatureKind::kAmount, "amount", false, false, false, false},
      {FeatureKind::kCustomerCount, "customer_count", true, false, false, false},
      {FeatureKind::kCustomerSum, "customer_sum", true, false, false, false},
      {FeatureKind::kCustomerMean, "customer_mean", true, false, false, false},
      {FeatureKind::kAmountZscore, "amount_zscore", true, false, false, true},
      {FeatureKind::kTimeSincePrevious, "time_since_previous", false, false, false, true},
      {FeatureKind::kTxPerHour, "tx_per_hour", true, false, false, false},
      {FeatureKind::kFirstTerminal, "first_terminal", false, false, false, false},
      {FeatureKind::kFirstDevice, "first_device", false, false, false, false},
      {FeatureKind::kTerminalRisk, "terminal_risk", true, true, false, true},
      {FeatureKind::kTerminalCount, "terminal_count", true, true, false, false},
      {FeatureKind::kNight, "night", false, false, true, false},
      {FeatureKind::kWeekend, "weekend", false, false, false, false},
  };
  return kKinds;
}

const KindInfo& Info(FeatureKind kind) {
  for (const KindInfo& k : Kinds())
    if (k.kind == kind) return k;
  return Kinds().front();
}

std::string KindList() {
  std::string out;
  for (const KindInfo& k : Kinds()) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

std::string DurationText(int64_t s) {
  if (s == 0) return "0s";
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& where, const std::string& what) const {
    return InvalidArgument(fmt::format("{}: {}{}", source_, where.empty() ? "" : where + ": ", what));
  }

  Result<std::string> String(const YAML::Node& n, const std::string& where, const std::string& key) const {
    if (!n.IsScalar() || n.as<std::string>().empty()) return Error(where, "'" + key + "' must be a non-empty string");
    return n.as<std::string>();
  }

  Result<int64_t> Duration(const YAML::Node& n, const std::string& where, const std::string& key, bool zero_ok) const {
    std::string text = n.IsScalar() ? n.as<std::string>() : "";
    auto s = n.IsScalar() ? ParseDuration(text) : std::nullopt;
    if (!s) return Error(where, "'" + key + "' must be a duration (e.g. 90s, 15m, 1h, 7d), not '" + text + "'");
    if ((!zero_ok && *s == 0) || *s > kMaxSpan)
      return Error(where,
                   fmt::format("'{}' {} must be {} 365d", key, text, zero_ok ? "at most" : "more than 0 and at most"));
    return *s;
  }

  Result<int> Hour(const YAML::Node& n, const std::string& where, const std::string& key) const {
    if (n.IsScalar()) {
      const std::string s = n.as<std::string>();
      int v = -1;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size() && v >= 0 && v <= 23) return v;
    }
    return Error(where, "'" + key + "' must be an hour from 0 to 23");
  }

  Result<float> Number(const YAML::Node& n, const std::string& where, const std::string& key) const {
    if (n.IsScalar()) {
      const std::string s = n.as<std::string>();
      if (s == "nan" || s == ".nan" || s == "NaN") return NAN;
      double v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(v)) return static_cast<float>(v);
    }
    return Error(where, "'" + key + "' must be a number or nan");
  }

  Result<FeatureDef> Feature(const YAML::Node& node, size_t index) const {
    std::string where = fmt::format("feature {}", index + 1);
    if (!node.IsMap()) return Error(where, "must be a mapping with 'kind'");
    if (node["name"]) {
      LATHE_ASSIGN_OR_RETURN(std::string name, String(node["name"], where, "name"));
      where += " (" + name + ")";
    }
    if (!node["kind"]) return Error(where, "missing 'kind' (one of " + KindList() + ")");
    LATHE_ASSIGN_OR_RETURN(std::string kind_name, String(node["kind"], where, "kind"));
    auto it = std::find_if(Kinds().begin(), Kinds().end(), [&](const KindInfo& k) { return kind_name == k.name; });
    if (it == Kinds().end())
      return Error(where, "unknown feature kind '" + kind_name + "' (one of " + KindList() + ")");
    const KindInfo& info = *it;
    FeatureDef def;
    def.kind = info.kind;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      bool allowed = key == "name" || key == "kind" || (key == "window" && info.window) ||
                     (key == "delay" && info.delay) || ((key == "from_hour" || key == "to_hour") && info.hours) ||
                     (key == "missing" && info.can_be_missing);
      if (!allowed) return Error(where, fmt::format("key '{}' does not apply to kind {}", key, info.name));
    }
    if (info.window) {
      if (!node["window"]) return Error(where, fmt::format("missing 'window' (kind {} needs one, e.g. 7d)", info.name));
      LATHE_ASSIGN_OR_RETURN(def.window_s, Duration(node["window"], where, "window", false));
    }
    if (info.delay) {
      def.delay_s = 7 * 86400;
      if (node["delay"]) {
        LATHE_ASSIGN_OR_RETURN(def.delay_s, Duration(node["delay"], where, "delay", true));
      }
    }
    if (info.hours) {
      if (node["from_hour"]) {
        LATHE_ASSIGN_OR_RETURN(def.from_hour, Hour(node["from_hour"], where, "from_hour"));
      }
      if (node["to_hour"]) {
        LATHE_ASSIGN_OR_RETURN(def.to_hour, Hour(node["to_hour"], where, "to_hour"));
      }
      if (def.from_hour == def.to_hour) return Error(where, "'from_hour' and 'to_hour' must differ");
    }
    if (node["missing"]) {
      LATHE_ASSIGN_OR_RETURN(def.missing, Number(node["missing"], where, "missing"));
    }
    if (node["name"]) {
      def.name = node["name"].as<std::string>();
    } else {
      def.name = info.name;
      if (info.window) def.name += "_" + DurationText(def.window_s);
      if (info.delay && node["delay"]) def.name += "_delay" + DurationText(def.delay_s);
    }
    return def;
  }

 private:
  std::string source_;
};

}  // namespace

std::string_view FeatureKindName(FeatureKind kind) { return Info(kind).name; }

bool IsCustomerKind(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::kCustomerCount:
    case FeatureKind::kCustomerSum:
    case FeatureKind::kCustomerMean:
    case FeatureKind::kAmountZscore:
    case FeatureKind::kTimeSincePrevious:
    case FeatureKind::kTxPerHour:
    case FeatureKind::kFirstTerminal:
    case FeatureKind::kFirstDevice:
      return true;
    default:
      return false;
  }
}

bool IsTerminalKind(FeatureKind kind) {
  return kind == FeatureKind::kTerminalRisk || kind == FeatureKind::kTerminalCount;
}

std::vector<std::string> FeatureSpec::Names() const {
  std::vector<std::string> out;
  for (const FeatureDef& f : features) out.push_back(f.name);
  return out;
}

int64_t FeatureSpec::LookbackSeconds() const {
  int64_t out = 0;
  for (const FeatureDef& f : features) out = std::max(out, f.delay_s + f.window_s);
  return out;
}

Result<FeatureSpec> ParseFeatureSpec(const std::string& yaml, const std::string& source) {
  Parser p(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return p.Error("", std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) return p.Error("", "a feature spec must be a mapping with 'name' and 'features'");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key != "name" && key != "version" && key != "features")
      return p.Error("", "unknown key '" + key + "' (expected name, version, features)");
  }
  if (root["version"] && !(root["version"].IsScalar() && root["version"].as<std::string>() == "1"))
    return p.Error("", "'version' must be 1");
  FeatureSpec spec;
  if (!root["name"]) return p.Error("", "missing 'name'");
  LATHE_ASSIGN_OR_RETURN(spec.name, p.String(root["name"], "", "name"));
  const YAML::Node list = root["features"];
  if (!list || !list.IsSequence() || list.size() == 0) return p.Error("", "'features' must be a non-empty list");
  std::set<std::string> names;
  try {
    for (size_t i = 0; i < list.size(); ++i) {
      LATHE_ASSIGN_OR_RETURN(FeatureDef def, p.Feature(list[i], i));
      if (!names.insert(def.name).second)
        return p.Error(fmt::format("feature {}", i + 1), "duplicate feature name '" + def.name + "'");
      spec.features.push_back(std::move(def));
    }
  } catch (const YAML::Exception& e) {
    return p.Error("", std::string("unexpected YAML structure: ") + e.what());
  }
  return spec;
}

Result<FeatureSpec> LoadFeatureSpec(const std::string& path) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return NotFound(path + ": cannot read feature spec (" + text.status().message() + ")");
  return ParseFeatureSpec(*text, path);
}

}  // namespace lathe::ml
