#include "pipeline/dag_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "pipeline/template.h"

namespace lathe::pipeline {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// Plain YAML scalars become numbers, booleans or null when they read as one;
// quoted scalars stay strings.
json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+')) {
        char* end = nullptr;
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (*end == '\0') return i;
        double d = std::strtod(s.c_str(), &end);
        if (*end == '\0') return d;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

struct Ctx {
  std::string where;
  Status Bad(const std::string& what) const { return InvalidArgument(where + ": " + what); }
};

Status CheckKeys(const YAML::Node& node, const std::set<std::string>& allowed, const std::string& what,
                 const Ctx& c) {
  if (!node.IsMap()) return c.Bad(what + " must be a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
      return c.Bad(what + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
  return Status::OK();
}

Result<std::string> ScalarString(const YAML::Node& n, const std::string& what, const Ctx& c) {
  if (!n.IsScalar()) return c.Bad(what + " must be a string");
  return n.Scalar();
}

Result<int64_t> ScalarInt(const YAML::Node& n, const std::string& what, int64_t lo, int64_t hi, const Ctx& c) {
  json v = ToJson(n);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return c.Bad(what + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                 (n.IsScalar() ? ", not '" + n.Scalar() + "'" : ""));
  return v.get<int64_t>();
}

Result<bool> ScalarBool(const YAML::Node& n, const std::string& what, const Ctx& c) {
  json v = ToJson(n);
  if (!v.is_boolean()) return c.Bad(what + " must be true or false");
  return v.get<bool>();
}

const std::set<std::string> kTaskArgs = {"retries", "retry_delay", "retry_backoff", "max_retry_delay", "timeout"};

// Applies the task-arg keys of `node` (default_args or a task) onto `task`.
Status ApplyArgs(const YAML::Node& node, TaskSpec* task, const std::string& prefix, const Ctx& c) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!kTaskArgs.count(key)) continue;
    const std::string what = prefix + "key '" + key + "'";
    if (key == "retries") {
      LATHE_ASSIGN_OR_RETURN(int64_t r, ScalarInt(kv.second, what, 0, 100, c));
      task->retries = static_cast<int>(r);
    } else if (key == "retry_backoff") {
      json v = ToJson(kv.second);
      if (!v.is_number() || v.get<double>() < 1.0 || v.get<double>() > 10.0)
        return c.Bad(what + " must be a number from 1 (constant delay) to 10");
      task->retry_backoff = v.get<double>();
    } else {
      LATHE_ASSIGN_OR_RETURN(std::string text, ScalarString(kv.second, what, c));
      auto d = ParseDuration(text);
      if (!d.ok()) return c.Bad(what + ": " + d.status().message());
      if (key == "retry_delay") task->retry_delay = *d;
      if (key == "max_retry_delay") task->max_retry_delay = *d;
      if (key == "timeout") task->timeout = *d;
    }
  }
  return Status::OK();
}

}  // namespace

std::chrono::milliseconds TaskSpec::DelayBefore(int next_try) const {
  double ms = static_cast<double>(retry_delay.count()) * std::pow(retry_backoff, std::max(0, next_try - 2));
  ms = std::min(ms, static_cast<double>(max_retry_delay.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

const TaskSpec* DagSpec::Task(const std::string& id) const {
  for (const TaskSpec& t : tasks)
    if (t.id == id) return &t;
  return nullptr;
}

std::vector<std::string> DagSpec::Downstream(const std::string& id) const {
  std::vector<std::string> out;
  for (const TaskSpec& t : tasks)
    if (std::find(t.depends_on.begin(), t.depends_on.end(), id) != t.depends_on.end()) out.push_back(t.id);
  return out;
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  auto bad = [&] {
    return InvalidArgument("duration '" + text + "' is not a whole number with a unit (ms, s, m, h, d), e.g. 30s");
  };
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 9) return bad();
  int64_t n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  int64_t mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000
                                : unit == "d" ? 86400000 : 0;
  if (mult == 0) return bad();
  return std::chrono::milliseconds(n * mult);
}

namespace {

Result<DagSpec> ParseDagNodes(const std::string& yaml_text, const OperatorRegistry& registry, const std::string& where);

}  // namespace

Result<DagSpec> ParseDag(const std::string& yaml_text, const OperatorRegistry& registry, const std::string& where) {
  // yaml-cpp throws on conversions (a mapping used as a key, say); those are
  // bad input like any other.
  try {
    return ParseDagNodes(yaml_text, registry, where);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(where + ": " + e.what());
  }
}

namespace {

Result<DagSpec> ParseDagNodes(const std::string& yaml_text, const OperatorRegistry& registry, const std::string& where) {
  Ctx c{where};
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return c.Bad("not valid YAML: " + std::string(e.what()));
  }
  LATHE_RETURN_IF_ERROR(CheckKeys(root,
                                  {"dag", "description", "schedule", "start_date", "catchup", "max_active_runs",
                                   "max_active_tasks", "on_failure", "default_args", "tasks"},
                                  "the DAG", c));
  DagSpec dag;
  if (!root["dag"]) return c.Bad("key 'dag' (the DAG id) is missing");
  LATHE_ASSIGN_OR_RETURN(dag.id, ScalarString(root["dag"], "key 'dag'", c));
  if (!ValidId(dag.id)) return c.Bad("key 'dag': '" + dag.id + "' is not an id (letters, digits, _ - .)");
  c.where = where + ": dag '" + dag.id + "'";
  if (root["description"]) {
    LATHE_ASSIGN_OR_RETURN(dag.description, ScalarString(root["description"], "key 'description'", c));
  }
  if (root["schedule"] && !root["schedule"].IsNull()) {
    LATHE_ASSIGN_OR_RETURN(std::string text, ScalarString(root["schedule"], "key 'schedule'", c));
    auto cron = CronSchedule::Parse(text);
    if (!cron.ok()) return c.Bad("key 'schedule': " + cron.status().message());
    dag.schedule = std::move(cron).value();
  }
  if (root["start_date"]) {
    LATHE_ASSIGN_OR_RETURN(dag.start_date, ScalarString(root["start_date"], "key 'start_date'", c));
    if (auto d = ParseDate(dag.start_date); !d.ok()) return c.Bad("key 'start_date': " + d.status().message());
  }
  if (dag.schedule && dag.start_date.empty()) return c.Bad("key 'start_date' is required with a schedule");
  if (root["catchup"]) {
    LATHE_ASSIGN_OR_RETURN(dag.catchup, ScalarBool(root["catchup"], "key 'catchup'", c));
  }
  if (root["max_active_runs"]) {
    LATHE_ASSIGN_OR_RETURN(int64_t n, ScalarInt(root["max_active_runs"], "key 'max_active_runs'", 1, 64, c));
    dag.max_active_runs = static_cast<int>(n);
  }
  if (root["max_active_tasks"]) {
    LATHE_ASSIGN_OR_RETURN(int64_t n, ScalarInt(root["max_active_tasks"], "key 'max_active_tasks'", 1, 64, c));
    dag.max_active_tasks = static_cast<int>(n);
  }
  if (root["on_failure"] && !root["on_failure"].IsNull()) {
    LATHE_ASSIGN_OR_RETURN(dag.on_failure, ScalarString(root["on_failure"], "key 'on_failure'", c));
    if (dag.on_failure.rfind("http://", 0) != 0 && dag.on_failure.rfind("https://", 0) != 0)
      return c.Bad("key 'on_failure': '" + dag.on_failure + "' is not an http:// or https:// URL");
  }
  TaskSpec defaults;
  if (root["default_args"]) {
    LATHE_RETURN_IF_ERROR(CheckKeys(root["default_args"], kTaskArgs, "key 'default_args'", c));
    LATHE_RETURN_IF_ERROR(ApplyArgs(root["default_args"], &defaults, "default_args: ", c));
  }
  const YAML::Node tasks = root["tasks"];
  if (!tasks || !tasks.IsMap() || tasks.size() == 0)
    return c.Bad("key 'tasks' must be a mapping of task id to task with at least one task");

  std::vector<TaskSpec> parsed;
  std::set<std::string> ids;
  std::set<std::string> task_keys = kTaskArgs;
  task_keys.insert({"operator", "depends_on", "params", "description"});
  const std::string sample_date = dag.start_date.empty() ? "2000-01-01" : dag.start_date;
  for (const auto& kv : tasks) {
    TaskSpec t = defaults;
    t.id = kv.first.as<std::string>();
    const std::string tw = "task '" + t.id + "'";
    if (!ValidId(t.id)) return c.Bad(tw + ": not an id (letters, digits, _ - .)");
    if (!ids.insert(t.id).second) return c.Bad(tw + ": defined twice");
    const YAML::Node& node = kv.second;
    LATHE_RETURN_IF_ERROR(CheckKeys(node, task_keys, tw, c));
    if (!node["operator"]) return c.Bad(tw + ": key 'operator' is missing");
    LATHE_ASSIGN_OR_RETURN(t.operator_name, ScalarString(node["operator"], tw + ": key 'operator'", c));
    const OperatorFactory* factory = registry.Find(t.operator_name);
    if (!factory) {
      std::string list;
      for (const auto& n : registry.Names()) list += (list.empty() ? "" : ", ") + n;
      return c.Bad(tw + ": key 'operator': unknown operator '" + t.operator_name + "' (known: " + list + ")");
    }
    if (node["depends_on"]) {
      const YAML::Node& deps = node["depends_on"];
      if (deps.IsScalar()) {
        t.depends_on.push_back(deps.Scalar());
      } else if (deps.IsSequence()) {
        for (const auto& d : deps) {
          if (!d.IsScalar()) return c.Bad(tw + ": key 'depends_on' must list task ids");
          t.depends_on.push_back(d.Scalar());
        }
      } else {
        return c.Bad(tw + ": key 'depends_on' must be a task id or a list of them");
      }
    }
    LATHE_RETURN_IF_ERROR(ApplyArgs(node, &t, tw + ": ", c));
    if (node["params"]) {
      if (!node["params"].IsMap()) return c.Bad(tw + ": key 'params' must be a mapping");
      t.params = ToJson(node["params"]);
    }
    TemplateVars vars{sample_date, dag.id, dag.id + "@" + sample_date, t.id, "DATA_DIR"};
    auto rendered = RenderParams(t.params, vars);
    if (!rendered.ok()) return c.Bad(tw + ": key 'params': " + rendered.status().message());
    auto op = (*factory)(*rendered);
    if (!op.ok()) return c.Bad(tw + ": operator '" + t.operator_name + "': " + op.status().message());
    parsed.push_back(std::move(t));
  }
  for (const TaskSpec& t : parsed)
    for (const std::string& d : t.depends_on) {
      if (!ids.count(d)) return c.Bad("task '" + t.id + "': key 'depends_on': unknown task '" + d + "'");
      if (d == t.id) return c.Bad("task '" + t.id + "': key 'depends_on': a task cannot depend on itself");
    }
  // Topological order (Kahn); what is left over is a cycle.
  std::map<std::string, int> pending;
  for (const TaskSpec& t : parsed) pending[t.id] = static_cast<int>(std::set<std::string>(t.depends_on.begin(), t.depends_on.end()).size());
  std::set<std::string> done;
  while (dag.tasks.size() < parsed.size()) {
    bool progressed = false;
    for (const TaskSpec& t : parsed) {
      if (done.count(t.id)) continue;
      bool ready = std::all_of(t.depends_on.begin(), t.depends_on.end(), [&](const std::string& d) { return done.count(d) > 0; });
      if (!ready) continue;
      done.insert(t.id);
      dag.tasks.push_back(t);
      progressed = true;
    }
    if (!progressed) {
      std::string cycle;
      for (const TaskSpec& t : parsed)
        if (!done.count(t.id)) cycle += (cycle.empty() ? "" : ", ") + t.id;
      return c.Bad("tasks form a dependency cycle: " + cycle);
    }
  }
  return dag;
}

}  // namespace

Result<DagSpec> LoadDagFile(const std::string& path, const OperatorRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot read DAG file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto dag = ParseDag(ss.str(), registry, path);
  if (!dag.ok()) return dag.status();
  dag->source_path = fs::absolute(path).string();
  return dag;
}

Result<std::vector<DagSpec>> LoadDagDir(const std::string& dags_dir, const OperatorRegistry& registry) {
  std::error_code ec;
  if (!fs::is_directory(dags_dir, ec)) return NotFound(dags_dir + ": no such DAG folder");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dags_dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<DagSpec> dags;
  std::set<std::string> seen;
  for (const std::string& f : files) {
    LATHE_ASSIGN_OR_RETURN(DagSpec d, LoadDagFile(f, registry));
    if (!seen.insert(d.id).second) return InvalidArgument(f + ": dag '" + d.id + "' is defined by another file too");
    dags.push_back(std::move(d));
  }
  std::sort(dags.begin(), dags.end(), [](const DagSpec& a, const DagSpec& b) { return a.id < b.id; });
  return dags;
}

Result<DagSpec> FindDag(const std::string& name_or_path, const std::string& dags_dir, const OperatorRegistry& registry) {
  std::error_code ec;
  auto ext = fs::path(name_or_path).extension().string();
  if (ext == ".yaml" || ext == ".yml" || name_or_path.find('/') != std::string::npos)
    return LoadDagFile(name_or_path, registry);
  for (const char* e : {".yaml", ".yml"}) {
    std::string p = dags_dir + "/" + name_or_path + e;
    if (fs::is_regular_file(p, ec)) {
      auto dag = LoadDagFile(p, registry);
      if (dag.ok() && dag->id != name_or_path)
        return InvalidArgument(p + ": defines dag '" + dag->id + "', not '" + name_or_path + "'");
      return dag;
    }
  }
  auto all = LoadDagDir(dags_dir, registry);
  if (!all.ok()) return all.status().code() == StatusCode::kNotFound
                            ? NotFound("dag '" + name_or_path + "': not a file, and " + all.status().message())
                            : all.status();
  for (DagSpec& d : *all)
    if (d.id == name_or_path) return std::move(d);
  return NotFound("dag '" + name_or_path + "': no such DAG in " + dags_dir);
}

}  // namespace lathe::pipeline
