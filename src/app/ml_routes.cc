#include "app/ml_routes.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "app/http_request.h"
#include "app/ml_json.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "ml/track/ml_store.h"
#include "net/http_errors.h"
#include "pipeline/dag_spec.h"
#include "pipeline/executor.h"
#include "pipeline/state_store.h"
#include "pipeline/template.h"
#include "storage/db.h"

extern char** environ;

namespace lathe::app {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
namespace pl = lathe::pipeline;
using json = nlohmann::json;
using net::Exchange;
using net::Response;

namespace {

// What a handler gets: copied from the request on the I/O thread, so the
// handler can run on the pool without touching the connection.
struct Call {
  ApiKey key;
  std::map<std::string, std::string> params;  // path parameters by name
  std::map<std::string, std::string> query;
  std::string body;
};

// A handler's answer: JSON, or bytes of a media type.
struct Reply {
  int status = 200;
  json body;
  std::string bytes;
  std::string media_type;  // non-empty: send bytes
};

Reply JsonReply(json body, int status = 200) { return Reply{status, std::move(body), "", ""}; }

// An error with a specific code (Status errors get the table's code).
Reply ErrorReply(int status, const std::string& message, const std::string& code) {
  return JsonReply(json::parse(net::ErrorBody(status, message, code)), status);
}

class MlContext {
 public:
  MlContext(ApiKeyVerifier* keys, MlService service) : keys_(keys), service_(std::move(service)) {}

  ApiKeyVerifier* keys() const { return keys_; }
  const MlService& service() const { return service_; }

  // A fresh connection for the calling thread.
  Result<ml::MlStore> OpenStore() const { return ml::OpenMlStore(service_.db_url, service_.data_dir); }
  Result<std::unique_ptr<storage::Db>> OpenDb() const { return storage::OpenDb(service_.db_url, service_.data_dir); }

  // Marks a triggered run as started by this server; false when it already was.
  bool BeginTrigger(const std::string& run_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return triggered_.insert(run_id).second;
  }
  void EndTrigger(const std::string& run_id) {
    std::lock_guard<std::mutex> lock(mu_);
    triggered_.erase(run_id);
  }

 private:
  ApiKeyVerifier* const keys_;
  const MlService service_;
  std::mutex mu_;
  std::set<std::string> triggered_;  // runs whose child process is alive; guarded by mu_
};

using Handler = Result<Reply> (*)(MlContext*, const Call&);

// --- query parameters ----------------------------------------------------

// NAME=N: default when absent; InvalidArgument naming the range otherwise.
Result<int> IntParam(const Call& call, const std::string& name, int default_value, int min_value, int max_value) {
  auto it = call.query.find(name);
  if (it == call.query.end()) return default_value;
  const std::string& text = it->second;
  bool digits = !text.empty() && text.size() <= 9 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  int v = digits ? std::stoi(text) : 0;
  if (!digits || v < min_value || v > max_value) {
    return InvalidArgument("query parameter '" + name + "' must be an integer from " + std::to_string(min_value) +
                           " to " + std::to_string(max_value) + ", got '" + text + "'");
  }
  return v;
}

Result<int> LimitParam(const Call& call, int default_limit, int max_limit) {
  return IntParam(call, "limit", default_limit, 1, max_limit);
}

std::string QueryParam(const Call& call, const std::string& name) {
  auto it = call.query.find(name);
  return it == call.query.end() ? std::string() : it->second;
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json NumberOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// --- experiments and runs -------------------------------------------------

Result<Reply> ListExperiments(MlContext* mc, const Call&) {
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::vector<std::string> names, store.tracker->ListExperiments());
  json data = json::array();
  for (const std::string& n : names) data.push_back({{"name", n}});
  return JsonReply({{"object", "list"}, {"data", data}});
}

Result<Reply> ListRuns(MlContext* mc, const Call& call) {
  auto limit = LimitParam(call, 100, 1000);
  if (!limit.ok()) return ErrorReply(400, limit.status().message(), "invalid_limit");
  const std::string experiment = QueryParam(call, "experiment");
  const std::string status = QueryParam(call, "status");
  if (!status.empty() && status != "running" && status != "finished" && status != "failed") {
    return ErrorReply(400, "query parameter 'status' must be running, finished or failed, got '" + status + "'",
                      "invalid_status");
  }
  std::optional<ml::RunStatus> wanted;
  if (status == "running") wanted = ml::RunStatus::kRunning;
  if (status == "finished") wanted = ml::RunStatus::kFinished;
  if (status == "failed") wanted = ml::RunStatus::kFailed;
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  auto runs = store.tracker->ListRunSummaries(experiment, wanted, static_cast<size_t>(*limit));
  if (!runs.ok()) {
    if (runs.status().code() == StatusCode::kNotFound)
      return ErrorReply(404, "no experiment named '" + experiment + "'", "experiment_not_found");
    return runs.status();
  }
  json data = json::array();
  for (const ml::RunSummary& r : *runs) data.push_back(RunSummaryJson(r));
  return JsonReply({{"object", "list"}, {"data", data}});
}

// The points of a curve artifact; empty when the run has none.
Result<json> CurveJson(ml::Tracker* tracker, const ml::RunDetails& d, const std::string& name) {
  bool present = std::any_of(d.artifacts.begin(), d.artifacts.end(),
                             [&](const ml::ArtifactInfo& a) { return a.name == name; });
  if (!present) return json::array();
  LATHE_ASSIGN_OR_RETURN(std::string bytes, tracker->ReadArtifact(d.info.run_id, name));
  json points = json::parse(bytes, nullptr, false);
  if (!points.is_array()) return Corruption("artifact " + name + " of run " + d.info.run_id + " is not a JSON array");
  return points;
}

// A run's curves hold a point per distinct score (18,000+ on a generated
// month: ~5 MB of JSON); a chart needs a few hundred.
constexpr int kDefaultCurvePoints = 500;

// At most n of the points (0: all), evenly spaced by index, the first and
// the last always kept, so a chart still spans the whole curve.
json ThinCurve(json points, size_t n) {
  if (n == 0 || points.size() <= n) return points;
  json out = json::array();
  if (n == 1) {
    out.push_back(points.back());
    return out;
  }
  const size_t last = points.size() - 1;
  for (size_t i = 0; i < n; ++i) out.push_back(std::move(points[i * last / (n - 1)]));
  return out;
}

// A run's details; nullopt for an unknown run.
Result<std::optional<ml::RunDetails>> FindRun(ml::MlStore& store, const std::string& run_id) {
  auto details = store.tracker->GetRunDetails(run_id);
  if (details.ok()) return std::optional<ml::RunDetails>(std::move(*details));
  if (details.status().code() == StatusCode::kNotFound) return std::optional<ml::RunDetails>();
  return details.status();
}

Reply RunNotFound(const std::string& run_id) {
  return ErrorReply(404, "no run with id '" + run_id + "'", "run_not_found");
}

Result<Reply> GetRun(MlContext* mc, const Call& call) {
  const std::string& run_id = call.params.at("run_id");
  LATHE_ASSIGN_OR_RETURN(int curve_points, IntParam(call, "curve_points", kDefaultCurvePoints, 0, 10000000));
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::RunDetails> details, FindRun(store, run_id));
  if (!details) return RunNotFound(run_id);
  const ml::RunDetails& d = *details;
  json j = RunSummaryJson(d);
  j["params"] = d.params;
  json history = json::array();
  for (const ml::MetricPoint& m : d.metrics)
    history.push_back({{"key", m.key}, {"value", NumberOrNull(m.value)}, {"step", m.step}, {"ts", m.ts}});
  j["metric_history"] = history;
  json artifacts = json::array();
  for (const ml::ArtifactInfo& a : d.artifacts) {
    artifacts.push_back({{"name", a.name},
                         {"sha256", a.sha256},
                         {"size", a.size},
                         {"media_type", a.media_type},
                         {"url", "/v1/runs/" + UrlEncode(run_id) + "/artifacts/" + UrlEncode(a.name)}});
  }
  j["artifacts"] = artifacts;
  // A damaged curve artifact should not hide the rest of the run.
  json curves = {{"pr", json::array()}, {"roc", json::array()}};
  json totals = json::object();
  for (const auto& [key, name] : {std::pair{"pr", "pr_curve.json"}, std::pair{"roc", "roc_curve.json"}}) {
    auto points = CurveJson(store.tracker.get(), d, name);
    if (points.ok()) {
      totals[key] = points->size();
      curves[key] = ThinCurve(std::move(*points), static_cast<size_t>(curve_points));
    } else {
      curves[std::string(key) + "_error"] = points.status().message();
    }
  }
  j["curves"] = curves;
  j["curve_points_total"] = totals;
  j["decision"] = nullptr;
  if (auto tag = d.tags.find("promotion.decision_id"); tag != d.tags.end()) {
    char* end = nullptr;
    long long id = std::strtoll(tag->second.c_str(), &end, 10);
    if (end && *end == '\0') {
      auto decision = store.registry->GetDecision(id);
      if (decision.ok()) {
        json dj = DecisionJson(*decision);
        dj["name"] = decision->name;
        dj["created_at"] = decision->created_at;
        j["decision"] = dj;
      }
    }
  }
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::ModelVersion> registered, store.registry->VersionOfRun(run_id));
  j["model_name"] = registered ? json(registered->name) : json(nullptr);
  j["model_version"] = registered ? json(registered->version) : json(nullptr);
  return JsonReply(j);
}

Result<Reply> GetArtifact(MlContext* mc, const Call& call) {
  const std::string& run_id = call.params.at("run_id");
  const std::string& name = call.params.at("name");
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::RunDetails> details, FindRun(store, run_id));
  if (!details) return RunNotFound(run_id);
  auto info = std::find_if(details->artifacts.begin(), details->artifacts.end(),
                           [&](const ml::ArtifactInfo& a) { return a.name == name; });
  if (info == details->artifacts.end())
    return ErrorReply(404, "run '" + run_id + "' has no artifact named '" + name + "'", "artifact_not_found");
  LATHE_ASSIGN_OR_RETURN(std::string bytes, store.tracker->ReadArtifact(run_id, name));
  Reply r;
  r.bytes = std::move(bytes);
  r.media_type = info->media_type.empty() ? "application/octet-stream" : info->media_type;
  return r;
}

// --- the registry -----------------------------------------------------------

json DecisionApiJson(const ml::PromotionDecision& d) {
  json j = DecisionJson(d);
  if (!d.champion_version) {
    j["champion_auprc"] = nullptr;
    j["difference"] = nullptr;
    j["ci"] = nullptr;
  }
  j["created_at"] = d.created_at;
  return j;
}

Result<Reply> ListModels(MlContext* mc, const Call&) {
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::RegisteredModel> models, store.registry->ListModels());
  json data = json::array();
  for (const ml::RegisteredModel& m : models) {
    data.push_back({{"name", m.name},
                    {"latest_version", m.latest_version},
                    {"champion", OptionalJson(m.champion)},
                    {"challenger", OptionalJson(m.challenger)},
                    {"created_at", m.created_at}});
  }
  return JsonReply({{"object", "list"}, {"data", data}});
}

// The registered model of the call's {name}, or a 404 reply.
Result<std::optional<ml::RegisteredModel>> FindModel(ml::MlStore& store, const std::string& name) {
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::RegisteredModel> models, store.registry->ListModels());
  for (ml::RegisteredModel& m : models)
    if (m.name == name) return std::optional<ml::RegisteredModel>(std::move(m));
  return std::optional<ml::RegisteredModel>();
}

Reply ModelNotFound(const std::string& name) {
  return ErrorReply(404, "no registered model named '" + name + "'", "model_not_found");
}

Result<Reply> GetModel(MlContext* mc, const Call& call) {
  const std::string& name = call.params.at("name");
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::RegisteredModel> model, FindModel(store, name));
  if (!model) return ModelNotFound(name);
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::ModelVersion> versions, store.registry->ListVersions(name));
  std::sort(versions.begin(), versions.end(),
            [](const ml::ModelVersion& a, const ml::ModelVersion& b) { return a.version > b.version; });
  std::vector<std::string> run_ids;
  for (const ml::ModelVersion& v : versions) run_ids.push_back(v.run_id);
  LATHE_ASSIGN_OR_RETURN(auto last_metrics, store.tracker->LastMetrics(run_ids));
  json vs = json::array();
  for (const ml::ModelVersion& v : versions) {
    json aliases = json::array();
    if (model->champion == v.version) aliases.push_back(ml::kChampion);
    if (model->challenger == v.version) aliases.push_back(ml::kChallenger);
    json auprc = nullptr;
    if (auto run = last_metrics.find(v.run_id); run != last_metrics.end()) {
      if (auto it = run->second.find("test.auprc"); it != run->second.end()) auprc = NumberOrNull(it->second);
    }
    vs.push_back({{"version", v.version},
                  {"run_id", v.run_id},
                  {"kind", v.kind},
                  {"threshold", v.threshold},
                  {"created_at", v.created_at},
                  {"aliases", aliases},
                  {"test_auprc", auprc}});
  }
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::AliasChange> changes, store.registry->AliasHistory(name));
  json history = json::array();
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    history.push_back({{"alias", it->alias},
                       {"version", OptionalJson(it->version)},
                       {"previous_version", OptionalJson(it->previous_version)},
                       {"reason", it->reason},
                       {"decision_id", OptionalJson(it->decision_id)},
                       {"changed_at", it->changed_at}});
  }
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::PromotionDecision> recorded, store.registry->ListDecisions(name));
  json decisions = json::array();
  for (const ml::PromotionDecision& d : recorded) decisions.push_back(DecisionApiJson(d));
  return JsonReply({{"name", name},
                    {"latest_version", model->latest_version},
                    {"created_at", model->created_at},
                    {"champion", OptionalJson(model->champion)},
                    {"challenger", OptionalJson(model->challenger)},
                    {"versions", vs},
                    {"history", history},
                    {"decisions", decisions}});
}

// After an alias move: the served model follows when this server serves it.
json FollowChampion(MlContext* mc, const std::string& name) {
  ml::ModelServer* server = mc->service().model_server;
  if (!server || server->name() != name) return nullptr;
  auto version = server->Reload(true);
  if (!version.ok()) return {{"version", nullptr}, {"error", version.status().message()}};
  return {{"version", OptionalJson(*version)}, {"error", nullptr}};
}

Result<Reply> PromoteModel(MlContext* mc, const Call& call) {
  const std::string& name = call.params.at("name");
  json body = json::parse(call.body, nullptr, false);
  if (call.body.empty()) return ErrorReply(400, "request body is empty; expected {\"version\": N}", "invalid_json");
  if (body.is_discarded() || !body.is_object())
    return ErrorReply(400, "request body is not a JSON object; expected {\"version\": N}", "invalid_json");
  auto v = body.find("version");
  if (v == body.end() || v->is_null()) return ErrorReply(400, "field 'version' is required", "invalid_version");
  if (!v->is_number_integer() || v->get<int64_t>() < 1)
    return ErrorReply(400, "field 'version' must be a positive integer version number, got " + v->dump(),
                      "invalid_version");
  FieldReader fields(body);
  std::string reason = fields.String("reason", false, 500);
  if (!fields.ok()) return ErrorReply(400, fields.status().message(), "invalid_argument");
  // Always "manual...": the registry reads a champion move whose reason is
  // "rollback" as a rollback, so a caller's text must not be one.
  reason = reason.empty() ? "manual" : "manual: " + reason;
  const int64_t version = v->get<int64_t>();
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::RegisteredModel> model, FindModel(store, name));
  if (!model) return ModelNotFound(name);
  if (version > model->latest_version)
    return ErrorReply(404, "model '" + name + "' has no version " + std::to_string(version) + " (latest is " +
                               std::to_string(model->latest_version) + ")",
                      "version_not_found");
  LATHE_ASSIGN_OR_RETURN(ml::PromoteOutcome outcome, store.registry->ForcePromote(name, version, reason));
  store = {};  // the connection is not needed while the server reloads
  return JsonReply({{"name", name},
                    {"champion", OptionalJson(outcome.champion)},
                    {"previous_champion", OptionalJson(outcome.previous_champion)},
                    {"moved", outcome.moved},
                    {"served", FollowChampion(mc, name)}});
}

Result<Reply> RollbackModel(MlContext* mc, const Call& call) {
  const std::string& name = call.params.at("name");
  LATHE_ASSIGN_OR_RETURN(ml::MlStore store, mc->OpenStore());
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::RegisteredModel> model, FindModel(store, name));
  if (!model) return ModelNotFound(name);
  auto rolled = store.registry->Rollback(name);
  if (!rolled.ok()) {
    if (rolled.status().code() == StatusCode::kFailedPrecondition)
      return ErrorReply(409, rolled.status().message(), "nothing_to_roll_back");
    return rolled.status();
  }
  store = {};
  return JsonReply({{"name", name},
                    {"champion", rolled->version},
                    {"previous_champion", OptionalJson(model->champion)},
                    {"moved", true},
                    {"served", FollowChampion(mc, name)}});
}

// --- pipelines ------------------------------------------------------------

// The DAGs of pipelines.dir (none when the folder does not exist). A bad DAG
// file is the server's problem, not the caller's: Internal naming the file.
Result<std::vector<pl::DagSpec>> LoadDags(MlContext* mc) {
  auto dags = pl::LoadDagDir(mc->service().pipelines_dir, *mc->service().operators);
  if (dags.ok()) return dags;
  if (dags.status().code() == StatusCode::kNotFound) return std::vector<pl::DagSpec>();
  return Internal("the DAG folder " + mc->service().pipelines_dir + " has a bad file: " + dags.status().message());
}

json DagJson(const pl::DagSpec& d) {
  json tasks = json::array();
  for (const pl::TaskSpec& t : d.tasks)
    tasks.push_back({{"task_id", t.id}, {"operator", t.operator_name}, {"upstream", t.depends_on}});
  return {{"dag_id", d.id},
          {"description", d.description},
          {"schedule", d.schedule ? json(d.schedule->text()) : json(nullptr)},
          {"path", d.source_path},
          {"tasks", tasks}};
}

Reply DagNotFound(MlContext* mc, const std::string& dag) {
  return ErrorReply(404, "no DAG '" + dag + "' in " + mc->service().pipelines_dir, "dag_not_found");
}

Result<Reply> ListPipelines(MlContext* mc, const Call&) {
  LATHE_ASSIGN_OR_RETURN(std::vector<pl::DagSpec> dags, LoadDags(mc));
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  pl::StateStore store(db.get());
  json data = json::array();
  for (const pl::DagSpec& d : dags) {
    json j = DagJson(d);
    LATHE_ASSIGN_OR_RETURN(std::vector<pl::RunRecord> runs, store.ListRuns(d.id, 1));
    j["latest_run"] = runs.empty() ? json(nullptr) : PipelineRunJson(&store, runs[0]);
    data.push_back(std::move(j));
  }
  return JsonReply({{"object", "list"}, {"data", data}});
}

Result<Reply> GetPipeline(MlContext* mc, const Call& call) {
  const std::string& dag_id = call.params.at("dag");
  auto limit = LimitParam(call, 30, 1000);
  if (!limit.ok()) return ErrorReply(400, limit.status().message(), "invalid_limit");
  LATHE_ASSIGN_OR_RETURN(std::vector<pl::DagSpec> dags, LoadDags(mc));
  auto dag = std::find_if(dags.begin(), dags.end(), [&](const pl::DagSpec& d) { return d.id == dag_id; });
  if (dag == dags.end()) return DagNotFound(mc, dag_id);
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  pl::StateStore store(db.get());
  LATHE_ASSIGN_OR_RETURN(std::vector<pl::RunRecord> runs, store.ListRuns(dag_id, *limit));
  json j = DagJson(*dag);
  json rs = json::array();
  for (const pl::RunRecord& r : runs) rs.push_back(PipelineRunJson(&store, r));
  j["latest_run"] = runs.empty() ? json(nullptr) : rs[0];
  j["runs"] = rs;
  return JsonReply(j);
}

Result<Reply> GetPipelineRun(MlContext* mc, const Call& call) {
  const std::string& run_id = call.params.at("run_id");
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  pl::StateStore store(db.get());
  LATHE_ASSIGN_OR_RETURN(std::optional<pl::RunRecord> run, store.GetRun(run_id));
  if (!run) return ErrorReply(404, "no pipeline run '" + run_id + "' (ids are DAG@YYYY-MM-DD)", "run_not_found");
  return JsonReply(PipelineRunJson(&store, *run));
}

Result<Reply> ListTries(MlContext* mc, const Call& call) {
  const std::string& run_id = call.params.at("run_id");
  const std::string task = QueryParam(call, "task");
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  pl::StateStore store(db.get());
  LATHE_ASSIGN_OR_RETURN(std::optional<pl::RunRecord> run, store.GetRun(run_id));
  if (!run) return ErrorReply(404, "no pipeline run '" + run_id + "' (ids are DAG@YYYY-MM-DD)", "run_not_found");
  LATHE_ASSIGN_OR_RETURN(std::vector<pl::TryRecord> tries, store.Tries(run_id, task));
  if (!task.empty() && tries.empty()) {
    LATHE_ASSIGN_OR_RETURN(std::optional<pl::TaskInstanceRecord> ti, store.GetTaskInstance(run_id, task));
    if (!ti) return ErrorReply(404, "run '" + run_id + "' has no task '" + task + "'", "task_not_found");
  }
  json data = json::array();
  for (const pl::TryRecord& t : tries) data.push_back(TryJson(t));
  return JsonReply({{"object", "list"}, {"run_id", run_id}, {"data", data}});
}

Reply RunSucceeded(const std::string& run_id) {
  return ErrorReply(409, "run " + run_id + " already succeeded; send \"force\": true to run every task again",
                    "run_succeeded");
}

// Reaps a triggered run's process; if it died before its executor took the
// run, the run is marked failed so that it does not stay queued forever.
void WaitForTrigger(std::shared_ptr<MlContext> mc, pid_t pid, std::string run_id) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    LOG_WARN("triggered pipeline run {} (pid {}) ended: {}", run_id, pid,
             WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                 : "exit status " + std::to_string(WEXITSTATUS(status)));
  }
  if (auto db = mc->OpenDb(); db.ok()) {
    pl::StateStore store(db->get());
    auto run = store.GetRun(run_id);
    if (run.ok() && *run && (*run)->state == "queued") {
      Status st = store.SetRunState(run_id, "failed");
      if (!st.ok()) LOG_WARN("run {}: cannot mark it failed: {}", run_id, st.message());
    }
  }
  mc->EndTrigger(run_id);
}

// Starts `lathe --data-dir DIR pipeline run PATH --date DS [--db URL]
// [--force]` in its own session (a signal to the server's process group does
// not reach it) with a clean signal mask (the server blocks SIGTERM for
// sigwait, and a mask survives exec), output appended to
// DATA_DIR/logs/triggers/RUN.log.
Result<pid_t> SpawnPipelineRun(const MlService& s, const pl::DagSpec& dag, const std::string& ds, bool force,
                               const std::string& run_id) {
  const std::string data_dir = fs::absolute(s.data_dir).lexically_normal().string();
  const std::string log_dir = data_dir + "/logs/triggers";
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec) return IOError("cannot create " + log_dir + ": " + ec.message());
  const std::string log_path = log_dir + "/" + run_id + ".log";
  std::string binary = s.lathe_binary;
  if (binary.empty()) {
    binary = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec) return Internal("cannot find this program's path: " + ec.message());
  }
  std::vector<std::string> argv = {binary,    "--data-dir", data_dir,
                                   "pipeline", "run",       fs::absolute(dag.source_path).lexically_normal().string(),
                                   "--date",  ds};
  if (!s.db_url.empty()) argv.insert(argv.end(), {"--db", s.db_url});
  if (force) argv.push_back("--force");
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Not the listening socket or any other descriptor of the server: a run
  // that outlives the server must not keep its port.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return IOError("cannot start " + binary + ": " + std::strerror(rc));
  return pid;
}

Result<Reply> TriggerRun(std::shared_ptr<MlContext> mc, const Call& call) {
  const std::string& dag_id = call.params.at("dag");
  json body = call.body.empty() ? json::object() : json::parse(call.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return ErrorReply(400, "request body is not a JSON object; expected {\"date\": \"YYYY-MM-DD\"}", "invalid_json");
  FieldReader fields(body);
  const std::string date = fields.String("date", true, 32);
  const bool force = fields.Bool("force");
  if (!fields.ok()) return ErrorReply(400, fields.status().message(), "invalid_argument");
  auto day = pl::ParseDate(date);
  if (!day.ok() || pl::FormatDate(*day) != date)
    return ErrorReply(400, "field 'date' must be a date YYYY-MM-DD, got '" + date + "'", "invalid_date");
  LATHE_ASSIGN_OR_RETURN(std::vector<pl::DagSpec> dags, LoadDags(mc.get()));
  auto dag = std::find_if(dags.begin(), dags.end(), [&](const pl::DagSpec& d) { return d.id == dag_id; });
  if (dag == dags.end()) return DagNotFound(mc.get(), dag_id);
  const std::string run_id = pl::StateStore::RunId(dag_id, date);
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  pl::StateStore store(db.get());
  // A run that has succeeded says so even while this server is still reaping
  // the process that ran it.
  LATHE_ASSIGN_OR_RETURN(std::optional<pl::RunRecord> before, store.GetRun(run_id));
  if (before && before->state == "success" && !force) return RunSucceeded(run_id);
  if (!mc->BeginTrigger(run_id))
    return ErrorReply(409, "run " + run_id + " is already queued or running (started by this server)",
                      "run_in_progress");
  bool handed_off = false;
  struct Release {
    MlContext* mc;
    const std::string& run_id;
    const bool& handed_off;
    ~Release() {
      if (!handed_off) mc->EndTrigger(run_id);
    }
  } release{mc.get(), run_id, handed_off};

  // Read again now that this server holds the run: another process may have
  // moved it since.
  LATHE_ASSIGN_OR_RETURN(std::optional<pl::RunRecord> existing, store.GetRun(run_id));
  if (existing) {
    const std::string& state = existing->state;
    if ((state == "running" || state == "queued") && pl::OwnerMayBeAlive(*existing))
      return ErrorReply(409, "run " + run_id + " is already " + state + " (process " +
                                 std::to_string(existing->owner_pid) + ")",
                        "run_in_progress");
    if (state == "success" && !force) return RunSucceeded(run_id);
  }
  // Queued now, so that the run shows at once and a second trigger is refused.
  LATHE_ASSIGN_OR_RETURN(pl::RunRecord run, store.GetOrCreateRun(dag_id, date, "external", dag->source_path));
  if (run.state != "queued") LATHE_RETURN_IF_ERROR(store.SetRunState(run_id, "queued"));
  auto pid = SpawnPipelineRun(mc->service(), *dag, date, force, run_id);
  if (!pid.ok()) {
    (void)store.SetRunState(run_id, "failed");
    return pid.status();
  }
  handed_off = true;
  std::thread(WaitForTrigger, mc, *pid, run_id).detach();
  LOG_INFO("pipeline run {} triggered over HTTP (pid {})", run_id, *pid);
  return JsonReply({{"run_id", run_id}, {"dag_id", dag_id}, {"ds", date}, {"state", "queued"}, {"force", force}}, 202);
}

// --- validation -------------------------------------------------------------

Result<Reply> ListValidation(MlContext* mc, const Call& call) {
  auto limit = LimitParam(call, 100, 1000);
  if (!limit.ok()) return ErrorReply(400, limit.status().message(), "invalid_limit");
  const std::string suite = QueryParam(call, "suite");
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  std::string sql =
      "SELECT result_id, suite, day, passed, failed_checks, warned_checks, row_count, created_at "
      "FROM validation_results";
  std::vector<storage::DbValue> args;
  if (!suite.empty()) {
    sql += " WHERE suite = $1";
    args.push_back(suite);
  }
  sql += " ORDER BY day DESC, result_id DESC LIMIT " + std::to_string(*limit);
  json data = json::array();
  LATHE_RETURN_IF_ERROR(db->Query(sql, args, [&](const storage::DbRow& r) {
    data.push_back({{"result_id", r.Int(0)},
                    {"suite", std::string(r.Text(1))},
                    {"day", std::string(r.Text(2))},
                    {"passed", r.Int(3) != 0},
                    {"failed_checks", r.Int(4)},
                    {"warned_checks", r.Int(5)},
                    {"rows", r.Int(6)},
                    {"created_at", r.Int(7)},
                    {"report_url", "/v1/validation/" + std::to_string(r.Int(0)) + "/report"}});
    return Status::OK();
  }));
  return JsonReply({{"object", "list"}, {"data", data}});
}

// The result id of the call's {result_id}; nullopt when it is not a number.
std::optional<int64_t> ResultId(const Call& call) {
  const std::string& text = call.params.at("result_id");
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(text);
}

struct StoredResult {
  std::string json_text, html_path;
};

Result<std::optional<StoredResult>> LoadResult(MlContext* mc, int64_t id) {
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  std::optional<StoredResult> out;
  LATHE_RETURN_IF_ERROR(db->Query("SELECT result_json, html_path FROM validation_results WHERE result_id = $1", {id},
                                  [&](const storage::DbRow& r) {
                                    out = StoredResult{std::string(r.Text(0)), std::string(r.Text(1))};
                                    return Status::OK();
                                  }));
  return out;
}

Reply ResultNotFound(const Call& call) {
  return ErrorReply(404, "no validation result '" + call.params.at("result_id") + "' (ids are integers)",
                    "result_not_found");
}

Result<Reply> GetValidation(MlContext* mc, const Call& call) {
  auto id = ResultId(call);
  if (!id) return ResultNotFound(call);
  LATHE_ASSIGN_OR_RETURN(std::optional<StoredResult> stored, LoadResult(mc, *id));
  if (!stored) return ResultNotFound(call);
  json j = json::parse(stored->json_text, nullptr, false);
  if (!j.is_object()) return Corruption("validation result " + std::to_string(*id) + " is not a JSON object");
  j["result_id"] = *id;
  j["report_url"] = "/v1/validation/" + std::to_string(*id) + "/report";
  return JsonReply(j);
}

Result<Reply> GetValidationReport(MlContext* mc, const Call& call) {
  auto id = ResultId(call);
  if (!id) return ResultNotFound(call);
  LATHE_ASSIGN_OR_RETURN(std::optional<StoredResult> stored, LoadResult(mc, *id));
  if (!stored) return ResultNotFound(call);
  auto html = ReadFile(stored->html_path);
  if (!html.ok())
    return ErrorReply(404, "the report of validation result " + std::to_string(*id) + " (" + stored->html_path +
                               ") is no longer on disk",
                      "report_missing");
  Reply r;
  r.bytes = std::move(*html);
  r.media_type = "text/html; charset=utf-8";
  return r;
}

// The psi and ks checks of the latest result of each day, oldest day first.
Result<Reply> GetDrift(MlContext* mc, const Call& call) {
  auto limit = LimitParam(call, 60, 1000);
  if (!limit.ok()) return ErrorReply(400, limit.status().message(), "invalid_limit");
  std::string suite = QueryParam(call, "suite");
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, mc->OpenDb());
  if (suite.empty()) {  // the suite validated last
    LATHE_RETURN_IF_ERROR(db->Query("SELECT suite FROM validation_results ORDER BY result_id DESC LIMIT 1", {},
                                    [&](const storage::DbRow& r) {
                                      suite = std::string(r.Text(0));
                                      return Status::OK();
                                    }));
  }
  std::vector<std::pair<std::string, std::string>> days;  // (day, result JSON), newest first
  LATHE_RETURN_IF_ERROR(db->Query("SELECT day, result_json FROM validation_results WHERE suite = $1 "
                                  "ORDER BY day DESC, result_id DESC",
                                  {suite}, [&](const storage::DbRow& r) {
                                    std::string day(r.Text(0));
                                    if (!days.empty() && days.back().first == day) return Status::OK();
                                    if (days.size() >= static_cast<size_t>(*limit)) return Status::OK();
                                    days.emplace_back(std::move(day), std::string(r.Text(1)));
                                    return Status::OK();
                                  }));
  if (days.empty() && !QueryParam(call, "suite").empty())
    return ErrorReply(404, "no validation results of suite '" + suite + "'", "suite_not_found");
  json features = json::object();
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    json result = json::parse(it->second, nullptr, false);
    if (!result.is_object() || !result.contains("checks") || !result["checks"].is_array()) continue;
    for (const json& c : result["checks"]) {
      const std::string type = c.value("type", "");
      if (type != "psi" && type != "ks") continue;
      json observed = c.contains("observed") && c["observed"].is_number() ? c["observed"] : json(nullptr);
      json max = c.contains("max") && c["max"].is_number() ? c["max"] : json(nullptr);
      features[c.value("column", "")].push_back(
          {{"day", it->first}, {"type", type}, {"value", observed}, {"max", max}, {"status", c.value("status", "")},
           {"check", c.value("name", "")}});
    }
  }
  return JsonReply({{"suite", suite.empty() ? json(nullptr) : json(suite)}, {"features", features}});
}

// --- wiring -------------------------------------------------------------------

Response ToResponse(const Result<Reply>& r) {
  if (!r.ok()) return net::ErrorResponse(r.status());
  if (!r->media_type.empty()) {
    Response res{static_cast<http::status>(r->status), 11};
    res.set(http::field::content_type, r->media_type);
    res.set("X-Content-Type-Options", "nosniff");
    if (r->media_type.rfind("text/html", 0) == 0) {
      // The report is self-contained: no scripts, no external resources.
      res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    }
    res.body() = r->bytes;
    return res;
  }
  return net::JsonResponse(r->status, r->body.dump());
}

}  // namespace

void AddMlRoutes(net::HttpServer* server, ApiKeyVerifier* keys, MlService service) {
  auto mc = std::make_shared<MlContext>(keys, std::move(service));
  using Fn = std::function<Result<Reply>(std::shared_ptr<MlContext>, const Call&)>;
  // Authenticates (scope, tenant), copies the request into a Call and runs
  // fn on the CPU pool.
  auto route = [&](const char* method, const char* pattern, Scope scope, std::vector<std::string> names, Fn fn) {
    server->Route(method, pattern, [mc, scope, names, fn](Exchange& ex) -> asio::awaitable<Response> {
      auto key = AuthenticateRequest(mc->keys(), ex, scope);
      if (!key.ok()) co_return net::ErrorResponse(key.status());
      if (key->tenant != mc->service().tenant) {
        co_return net::ErrorResponse(404, "the ML workspace is not shared with tenant '" + key->tenant + "'",
                                     "not_found");
      }
      Call call;
      call.key = *key;
      for (const std::string& n : names) call.params[n] = ex.param(n);
      call.query = QueryParams(ex);
      call.body = ex.request().body();
      // Only references in the work lambda: GCC 12 may destroy a temporary
      // in a co_await expression twice, and a shared_ptr copy there would
      // then lose a reference per request.
      Result<Reply> reply = co_await net::RunOnPool(*mc->service().pool, [&mc, &call, &fn]() -> Result<Reply> {
        try {
          return fn(mc, call);
        } catch (const std::exception& e) {  // a library's exception must not reach the I/O thread
          return Internal(std::string("unexpected error: ") + e.what());
        }
      });
      co_return ToResponse(reply);
    });
  };
  auto plain = [](Handler h) -> Fn {
    return [h](std::shared_ptr<MlContext> mc, const Call& call) { return h(mc.get(), call); };
  };
  const Scope q = Scope::kQuery, admin = Scope::kAdmin;
  route("GET", "/v1/experiments", q, {}, plain(ListExperiments));
  route("GET", "/v1/runs", q, {}, plain(ListRuns));
  route("GET", "/v1/runs/{run_id}", q, {"run_id"}, plain(GetRun));
  route("GET", "/v1/runs/{run_id}/artifacts/{name}", q, {"run_id", "name"}, plain(GetArtifact));
  route("GET", "/v1/registry/models", q, {}, plain(ListModels));
  route("GET", "/v1/registry/models/{name}", q, {"name"}, plain(GetModel));
  route("POST", "/v1/registry/models/{name}/promote", admin, {"name"}, plain(PromoteModel));
  route("POST", "/v1/registry/models/{name}/rollback", admin, {"name"}, plain(RollbackModel));
  route("GET", "/v1/pipelines", q, {}, plain(ListPipelines));
  route("GET", "/v1/pipelines/{dag}", q, {"dag"}, plain(GetPipeline));
  route("POST", "/v1/pipelines/{dag}/runs", admin, {"dag"}, TriggerRun);
  route("GET", "/v1/pipeline-runs/{run_id}", q, {"run_id"}, plain(GetPipelineRun));
  route("GET", "/v1/pipeline-runs/{run_id}/tries", q, {"run_id"}, plain(ListTries));
  route("GET", "/v1/validation", q, {}, plain(ListValidation));
  route("GET", "/v1/validation/drift", q, {}, plain(GetDrift));  // before {result_id}
  route("GET", "/v1/validation/{result_id}", q, {"result_id"}, plain(GetValidation));
  route("GET", "/v1/validation/{result_id}/report", q, {"result_id"}, plain(GetValidationReport));
}

}  // namespace lathe::app
