#include "app/config.h"

#include "app/api_keys.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>

extern char** environ;

namespace lathe::app {
namespace {

enum class Type { kString, kInt, kDouble, kBool, kStringList, kMillis, kSize, kPort };

struct Field {
  const char* section;
  const char* key;
  Type type;
  void* target;
  bool secret = false;
  int64_t min = 0;
  int64_t max = INT64_MAX;
};

std::vector<Field> Fields(ServeConfig* c) {
  auto& s = c->server;
  return {
      {"server", "host", Type::kString, &s.host},
      {"server", "port", Type::kPort, &s.port, false, 0, 65535},
      {"server", "io_threads", Type::kSize, &s.io_threads, false, 1, 64},
      {"server", "max_body_bytes", Type::kSize, &s.max_body_bytes, false, 1024, int64_t(1) << 32},
      {"server", "max_header_bytes", Type::kSize, &s.max_header_bytes, false, 1024, 1 << 20},
      {"server", "read_timeout_ms", Type::kMillis, &s.read_timeout, false, 1, 3600000},
      {"server", "idle_timeout_ms", Type::kMillis, &s.idle_timeout, false, 1, 3600000},
      {"server", "write_timeout_ms", Type::kMillis, &s.write_timeout, false, 1, 3600000},
      {"server", "max_connections", Type::kSize, &s.max_connections, false, 1, 1000000},
      {"server", "drain_timeout_ms", Type::kMillis, &s.drain_timeout, false, 0, 3600000},
      {"server", "cors_origins", Type::kStringList, &s.cors_origins},
      {"llm", "base_url", Type::kString, &c->llm.base_url},
      {"llm", "model", Type::kString, &c->llm.model},
      {"llm", "api_key", Type::kString, &c->llm.api_key, true},
      {"llm", "timeout_ms", Type::kInt, &c->llm.timeout_ms, false, 1, 600000},
      {"llm", "per_try_timeout_ms", Type::kInt, &c->llm.per_try_timeout_ms, false, 1, 600000},
      {"llm", "max_tries", Type::kInt, &c->llm.max_tries, false, 1, 10},
      {"llm", "backoff_base_ms", Type::kInt, &c->llm.backoff_base_ms, false, 0, 60000},
      {"llm", "backoff_max_ms", Type::kInt, &c->llm.backoff_max_ms, false, 0, 600000},
      {"llm", "max_concurrent", Type::kInt, &c->llm.max_concurrent, false, 1, 100000},
      {"llm", "breaker_failures", Type::kInt, &c->llm.breaker_failures, false, 1, 1000},
      {"llm", "breaker_cooldown_ms", Type::kInt, &c->llm.breaker_cooldown_ms, false, 1, 3600000},
      {"llm", "temperature", Type::kDouble, &c->llm.temperature},
      {"llm", "max_tokens", Type::kInt, &c->llm.max_tokens, false, 1, 100000},
      {"embeddings", "backend", Type::kString, &c->embeddings.backend},
      {"embeddings", "base_url", Type::kString, &c->embeddings.base_url},
      {"embeddings", "model", Type::kString, &c->embeddings.model},
      {"embeddings", "api_key", Type::kString, &c->embeddings.api_key, true},
      {"embeddings", "dim", Type::kInt, &c->embeddings.dim, false, 0, 65536},
      {"embeddings", "query_prefix", Type::kString, &c->embeddings.query_prefix},
      {"embeddings", "passage_prefix", Type::kString, &c->embeddings.passage_prefix},
      {"embeddings", "batch_size", Type::kInt, &c->embeddings.batch_size, false, 1, 2048},
      {"embeddings", "timeout_ms", Type::kInt, &c->embeddings.timeout_ms, false, 1, 600000},
      {"embeddings", "max_tries", Type::kInt, &c->embeddings.max_tries, false, 1, 10},
      {"embeddings", "max_concurrent", Type::kInt, &c->embeddings.max_concurrent, false, 1, 1024},
      {"answer", "backend", Type::kString, &c->answer.backend},
      {"answer", "abstain_threshold", Type::kDouble, &c->answer.abstain_threshold},
      {"answer", "handoff_message", Type::kString, &c->answer.handoff_message},
      {"answer", "top_k", Type::kInt, &c->answer.top_k, false, 1, 50},
      {"answer", "max_context_tokens", Type::kInt, &c->answer.max_context_tokens, false, 100, 1000000},
      {"answer", "history_turns", Type::kInt, &c->answer.history_turns, false, 0, 100},
      {"answer", "retriever", Type::kString, &c->answer.retriever},
      {"conversations", "ttl_hours", Type::kInt, &c->conversations.ttl_hours, false, 1, 24 * 365},
      {"models", "enabled", Type::kBool, &c->models.enabled},
      {"models", "name", Type::kString, &c->models.name},
      {"models", "poll_seconds", Type::kInt, &c->models.poll_seconds, false, 0, 86400},
      {"models", "db", Type::kString, &c->models.db, true},
      {"models", "dir", Type::kString, &c->models.dir},
      {"models", "max_batch", Type::kInt, &c->models.max_batch, false, 1, 100000},
      {"models", "top_features", Type::kInt, &c->models.top_features, false, 0, 1000},
      {"models", "tenant", Type::kString, &c->models.tenant},
      {"pipelines", "dir", Type::kString, &c->pipelines.dir},
      {"testing", "delay_history_ms", Type::kInt, &c->testing.delay_history_ms, false, 0, 600000},
      {"testing", "delay_bm25_ms", Type::kInt, &c->testing.delay_bm25_ms, false, 0, 600000},
      {"testing", "delay_embed_ms", Type::kInt, &c->testing.delay_embed_ms, false, 0, 600000},
      {"ui", "enabled", Type::kBool, &c->ui.enabled},
      {"ui", "dir", Type::kString, &c->ui.dir},
  };
}

std::string Name(const Field& f) { return std::string(f.section) + "." + f.key; }

std::string EnvName(const Field& f) {
  std::string n = std::string("LATHE_") + f.section + "_" + f.key;
  for (char& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return n;
}

// Parses text into the field; the error names what is expected.
Status Assign(const Field& f, const std::string& text, const std::vector<std::string>* list) {
  auto integer = [&](int64_t* out) -> Status {
    try {
      size_t used = 0;
      long long v = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument("trailing");
      if (v < f.min || v > f.max) {
        return InvalidArgument(Name(f) + " must be between " + std::to_string(f.min) + " and " +
                               std::to_string(f.max) + ", got " + text);
      }
      *out = v;
      return Status::OK();
    } catch (const std::exception&) {
      return InvalidArgument(Name(f) + " must be an integer, got '" + text + "'");
    }
  };
  int64_t v = 0;
  switch (f.type) {
    case Type::kString: *static_cast<std::string*>(f.target) = text; return Status::OK();
    case Type::kStringList:
      if (list) {
        *static_cast<std::vector<std::string>*>(f.target) = *list;
      } else {  // from the environment: comma-separated
        std::vector<std::string> items;
        size_t start = 0;
        while (start <= text.size()) {
          size_t comma = text.find(',', start);
          if (comma == std::string::npos) comma = text.size();
          if (comma > start) items.push_back(text.substr(start, comma - start));
          start = comma + 1;
        }
        *static_cast<std::vector<std::string>*>(f.target) = items;
      }
      return Status::OK();
    case Type::kDouble:
      try {
        size_t used = 0;
        double d = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument("trailing");
        if (!std::isfinite(d)) return InvalidArgument(Name(f) + " must be a finite number, got '" + text + "'");
        *static_cast<double*>(f.target) = d;
        return Status::OK();
      } catch (const std::exception&) {
        return InvalidArgument(Name(f) + " must be a number, got '" + text + "'");
      }
    case Type::kBool:
      if (text == "true" || text == "1" || text == "yes") {
        *static_cast<bool*>(f.target) = true;
      } else if (text == "false" || text == "0" || text == "no") {
        *static_cast<bool*>(f.target) = false;
      } else {
        return InvalidArgument(Name(f) + " must be true or false, got '" + text + "'");
      }
      return Status::OK();
    case Type::kInt: LATHE_RETURN_IF_ERROR(integer(&v)); *static_cast<int64_t*>(f.target) = v; return Status::OK();
    case Type::kSize: LATHE_RETURN_IF_ERROR(integer(&v)); *static_cast<size_t*>(f.target) = v; return Status::OK();
    case Type::kPort:
      LATHE_RETURN_IF_ERROR(integer(&v));
      *static_cast<uint16_t*>(f.target) = static_cast<uint16_t>(v);
      return Status::OK();
    case Type::kMillis:
      LATHE_RETURN_IF_ERROR(integer(&v));
      *static_cast<std::chrono::milliseconds*>(f.target) = std::chrono::milliseconds(v);
      return Status::OK();
  }
  return Status::OK();
}

std::string Render(const Field& f) {
  switch (f.type) {
    case Type::kString: {
      const auto& s = *static_cast<std::string*>(f.target);
      if (f.secret && !s.empty()) return "\"****\"";
      YAML::Emitter e;
      e << YAML::DoubleQuoted << s;
      return e.c_str();
    }
    case Type::kStringList: {
      std::string out = "[";
      for (const auto& item : *static_cast<std::vector<std::string>*>(f.target)) {
        out += (out.size() > 1 ? ", \"" : "\"") + item + "\"";
      }
      return out + "]";
    }
    case Type::kDouble: return fmt::format("{}", *static_cast<double*>(f.target));
    case Type::kBool: return *static_cast<bool*>(f.target) ? "true" : "false";
    case Type::kInt: return std::to_string(*static_cast<int64_t*>(f.target));
    case Type::kSize: return std::to_string(*static_cast<size_t*>(f.target));
    case Type::kPort: return std::to_string(*static_cast<uint16_t*>(f.target));
    case Type::kMillis: return std::to_string(static_cast<std::chrono::milliseconds*>(f.target)->count());
  }
  return "";
}

}  // namespace

Status LoadConfigFile(const std::string& path, ServeConfig* config) {
  if (path.empty()) return Status::OK();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgument(path + ": cannot open the configuration file");
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) return Status::OK();
  if (!root.IsMap()) return InvalidArgument(path + ": the top level must be a mapping of sections");
  std::vector<Field> fields = Fields(config);
  std::set<std::string> sections;
  for (const auto& f : fields) sections.insert(f.section);
  for (const auto& section : root) {
    std::string sname = section.first.as<std::string>();
    if (!sections.count(sname)) return InvalidArgument(path + ": unknown section '" + sname + "'");
    if (section.second.IsNull()) continue;
    if (!section.second.IsMap()) return InvalidArgument(path + ": section '" + sname + "' must be a mapping");
    for (const auto& entry : section.second) {
      std::string key = entry.first.as<std::string>();
      const Field* field = nullptr;
      for (const auto& f : fields) {
        if (sname == f.section && key == f.key) field = &f;
      }
      if (!field) return InvalidArgument(path + ": unknown key '" + sname + "." + key + "'");
      Status st;
      if (field->type == Type::kStringList) {
        if (!entry.second.IsSequence()) return InvalidArgument(path + ": " + Name(*field) + " must be a list");
        std::vector<std::string> items;
        for (const auto& item : entry.second) items.push_back(item.as<std::string>());
        st = Assign(*field, "", &items);
      } else {
        if (entry.second.IsNull() && field->type == Type::kString) {
          st = Assign(*field, "", nullptr);  // "api_key:" with nothing after it
        } else if (!entry.second.IsScalar()) {
          return InvalidArgument(path + ": " + Name(*field) + " must be a single value");
        } else {
          st = Assign(*field, entry.second.Scalar(), nullptr);
        }
      }
      if (!st.ok()) return InvalidArgument(path + ": " + st.message());
    }
  }
  return Status::OK();
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServeConfig* config) {
  // A LATHE_<SECTION>_... variable for a known section must name a key: a
  // misspelt override would otherwise be ignored without a word. Other
  // LATHE_* variables are not configuration and are left alone.
  std::set<std::string> names, prefixes;
  for (const auto& f : Fields(config)) {
    names.insert(EnvName(f));
    std::string prefix = std::string("LATHE_") + f.section + "_";
    for (char& ch : prefix) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    prefixes.insert(prefix);
  }
  for (const auto& [name, value] : env) {
    if (names.count(name)) continue;
    for (const auto& prefix : prefixes) {
      if (name.rfind(prefix, 0) == 0) {
        return InvalidArgument("environment " + name + " is not a configuration key (see lathe serve --print-config)");
      }
    }
  }
  for (const auto& f : Fields(config)) {
    auto it = env.find(EnvName(f));
    if (it == env.end()) continue;
    Status st = Assign(f, it->second, nullptr);
    if (!st.ok()) return InvalidArgument("environment " + it->first + ": " + st.message());
  }
  return Status::OK();
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string s = *e;
    size_t eq = s.find('=');
    if (eq != std::string::npos && s.rfind("LATHE_", 0) == 0) env[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return env;
}

Status ValidateConfig(const ServeConfig& c) {
  if (c.answer.backend != "extractive" && c.answer.backend != "openai") {
    return InvalidArgument("answer.backend must be extractive or openai, got '" + c.answer.backend + "'");
  }
  if (c.answer.backend == "openai" && c.llm.base_url.empty()) {
    return InvalidArgument("answer.backend is openai but llm.base_url is not set");
  }
  if (c.embeddings.backend != "local" && c.embeddings.backend != "openai") {
    return InvalidArgument("embeddings.backend must be local or openai, got '" + c.embeddings.backend + "'");
  }
  if (c.embeddings.backend == "openai" && c.embeddings.base_url.empty()) {
    return InvalidArgument("embeddings.backend is openai but embeddings.base_url is not set");
  }
  if (c.answer.retriever != "hybrid" && c.answer.retriever != "bm25" && c.answer.retriever != "vector") {
    return InvalidArgument("answer.retriever must be hybrid, bm25 or vector, got '" + c.answer.retriever + "'");
  }
  if (c.llm.temperature < 0 || c.llm.temperature > 2) {
    return InvalidArgument("llm.temperature must be between 0 and 2");
  }
  if (c.models.enabled) {
    const std::string& n = c.models.name;
    bool valid = !n.empty() && n.size() <= 64;
    for (char ch : n) valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.');
    if (!valid || n[0] == '.') {
      return InvalidArgument("models.name must be 1 to 64 letters, digits, '_', '-' or '.' (not starting with '.'), got '" +
                             n + "'");
    }
  }
  if (Status st = ValidateTenant(c.models.tenant); !st.ok()) {
    return InvalidArgument("models.tenant: " + st.message());
  }
  if (c.pipelines.dir.empty()) return InvalidArgument("pipelines.dir must not be empty");
  if (!(c.answer.abstain_threshold >= 0 && c.answer.abstain_threshold <= 1)) {
    return InvalidArgument("answer.abstain_threshold must be between 0 and 1");
  }
  return Status::OK();
}

std::string PrintConfig(const ServeConfig& config) {
  ServeConfig copy = config;
  std::string out, section;
  for (const auto& f : Fields(&copy)) {
    if (section != f.section) {
      section = f.section;
      out += section + ":\n";
    }
    out += std::string("  ") + f.key + ": " + Render(f) + "\n";
  }
  return out;
}

}  // namespace lathe::app
