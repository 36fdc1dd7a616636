#include "app/api_routes.h"

#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <algorithm>
#include <filesystem>

#include "common/clock.h"
#include "rag/ingest/loaders.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/random_id.h"
#include "net/http_errors.h"
#include "net/multipart.h"
#include "app/http_request.h"
#include "app/predict_request.h"
#include "ml/data/transaction.h"

namespace lathe::app {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;
using net::Exchange;
using net::Response;

namespace {

struct RouteContext {
  Assistant* assistant;
  net::MetricsRegistry* metrics;
  ModelService models;
  net::Family<net::Counter>* predictions = nullptr;  // lathe_model_predictions_total
};

Response Json(int status, const json& body) { return net::JsonResponse(status, body.dump()); }

// The caller's key, or the error response to send.
Result<ApiKey> Authenticate(RouteContext* rc, const Exchange& ex, Scope needed) {
  return AuthenticateRequest(rc->assistant->keys(), ex, needed);
}

Result<json> ParseBody(const Exchange& ex) { return ParseJsonBody(ex); }

json CitationsJson(const std::vector<rag::Citation>& citations) {
  json out = json::array();
  for (const auto& c : citations) {
    out.push_back({{"n", c.n}, {"doc_id", c.doc_id}, {"chunk_id", c.chunk_id}, {"title", c.title},
                   {"quote", c.quote}});
  }
  return out;
}

json ChatJson(const ChatResult& r) {
  return {{"conversation_id", r.conversation_id},
          {"answer", r.answer.text},
          {"citations", CitationsJson(r.answer.citations)},
          {"abstained", r.answer.abstained},
          {"query", r.query},
          {"rewritten", r.rewritten},
          {"evidence", r.evidence},
          {"removed_citations", r.answer.removed_citations},
          {"timings_ms", {{"retrieve", r.retrieve_ms}, {"generate", r.generate_ms}, {"total", r.total_ms}}}};
}

std::string SseData(const json& j) { return "data: " + j.dump() + "\n\n"; }

// Upstream failures keep their meaning for the client: 503 (unavailable, try
// later), 504 (deadline), 429 -> 503 with a reason (the client is not the one
// being rate limited).
Response ErrorFor(const Status& st) {
  if (st.code() == StatusCode::kResourceExhausted) {
    Response res = net::ErrorResponse(503, st.message(), "upstream_rate_limited");
    res.set(http::field::retry_after, "1");
    return res;
  }
  Response res = net::ErrorResponse(st);
  if (st.code() == StatusCode::kUnavailable) res.set(http::field::retry_after, "1");
  return res;
}

// The uploaded file's base name with unusual characters replaced; leading
// dots are dropped, since the ingester passes over hidden files.
std::string SafeFileName(const std::string& name) {
  std::string base = std::filesystem::path(name).filename().string();
  std::string out;
  for (char c : base) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  out.erase(0, out.find_first_not_of('.'));
  return out;
}

asio::awaitable<Response> PostDocuments(RouteContext* rc, Exchange& ex) {
  auto key = Authenticate(rc, ex, Scope::kAdmin);
  if (!key.ok()) co_return net::ErrorResponse(key.status());
  const std::string& collection = ex.param("c");
  std::string dir = rc->assistant->data_dir() + "/uploads/" + RandomHex(8);
  std::error_code fs_error;
  std::filesystem::create_directories(dir, fs_error);
  if (fs_error) co_return net::ErrorResponse(500, "cannot create upload folder: " + fs_error.message(), "io_error");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  std::string content_type = ex.header("Content-Type");
  std::vector<std::string> files;
  if (content_type.rfind("multipart/", 0) == 0) {
    auto parts = net::ParseMultipart(content_type, ex.request().body());
    if (!parts.ok()) co_return net::ErrorResponse(parts.status(), "invalid_multipart");
    for (const auto& part : *parts) {
      if (part.filename.empty()) continue;
      std::string name = SafeFileName(part.filename);
      if (name.empty() || rag::FormatForPath(name).empty()) {
        co_return net::ErrorResponse(415,
                                     "file '" + part.filename +
                                         "' is not a supported format (.md, .markdown, .html, .htm, .txt, .text, "
                                         ".pdf, .jsonl)",
                                     "unsupported_format");
      }
      if (std::find(files.begin(), files.end(), name) != files.end()) {
        co_return net::ErrorResponse(400, "two files in one upload are both named '" + name + "'; document ids come from file names",
                                     "duplicate_file_name");
      }
      Status st = AtomicWriteFile(dir + "/" + name, part.data, false);
      if (!st.ok()) co_return net::ErrorResponse(st);
      files.push_back(name);
    }
    if (files.empty()) {
      co_return net::ErrorResponse(400, "multipart upload has no file part (a part with a filename)", "no_file");
    }
  } else {
    auto body = ParseBody(ex);
    if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
    FieldReader fields(*body);
    std::string id = fields.String("id", true, 512);
    std::string title = fields.String("title", false);
    std::string text = fields.String("text", true, 16u << 20);
    if (!fields.ok()) co_return net::ErrorResponse(fields.status(), "invalid_document");
    json line = {{"_id", id}, {"title", title}, {"text", text}};
    if (auto m = body->find("metadata"); m != body->end() && !m->is_null()) {
      if (!m->is_object()) co_return net::ErrorResponse(400, "field 'metadata' must be an object", "invalid_document");
      line["metadata"] = *m;
    }
    Status st = AtomicWriteFile(dir + "/document.jsonl", line.dump() + "\n", false);
    if (!st.ok()) co_return net::ErrorResponse(st);
    files.push_back(id);
  }
  std::vector<std::string> errors;
  auto report = co_await rc->assistant->Ingest(key->tenant, collection, dir, &errors);
  if (!report.ok()) co_return ErrorFor(report.status());
  json body = {{"collection", collection}, {"files", files},     {"added", report->added},
               {"updated", report->updated}, {"unchanged", report->unchanged}, {"failed", report->failed},
               {"chunks", report->chunks},   {"errors", errors}};
  if (!report->ok()) {
    std::string message = errors.empty() ? "nothing could be ingested" : "nothing could be ingested: " + errors[0];
    json err = json::parse(net::ErrorBody(400, message, "invalid_document"));
    err["errors"] = errors;
    co_return Json(400, err);
  }
  co_return Json(report->added > 0 ? 201 : 200, body);
}

asio::awaitable<Response> ChatRoute(RouteContext* rc, Exchange& ex) {
  auto key = Authenticate(rc, ex, Scope::kQuery);
  if (!key.ok()) co_return net::ErrorResponse(key.status());
  auto body = ParseBody(ex);
  if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
  FieldReader fields(*body);
  ChatInput input;
  input.collection = fields.String("collection", true, 64);
  input.message = fields.String("message", true, 8000);
  std::string conversation = fields.String("conversation_id", false, 64);
  const bool stream = fields.Bool("stream");
  if (!fields.ok()) co_return net::ErrorResponse(fields.status());
  if (!conversation.empty()) input.conversation_id = conversation;
  if (!stream) {
    auto result = co_await rc->assistant->Chat(key->tenant, input, nullptr);
    if (!result.ok()) co_return ErrorFor(result.status());
    co_return Json(200, ChatJson(*result));
  }
  // Server-sent events: "delta" pieces, then one "done" event with the
  // verified answer and citations (or an "error" event). Errors before the
  // first piece are ordinary HTTP errors.
  rag::DeltaSink sink = [&ex](std::string_view piece) -> asio::awaitable<bool> {
    if (!ex.streaming() && !co_await ex.StartEvents()) co_return false;
    json event;
    event["type"] = std::string("delta");
    event["text"] = std::string(piece);
    co_return co_await ex.SendEvent(SseData(event));
  };
  auto result = co_await rc->assistant->Chat(key->tenant, input, sink);
  if (!ex.streaming()) {
    if (!result.ok()) co_return ErrorFor(result.status());
    if (!co_await ex.StartEvents()) co_return Response{};
  }
  if (!result.ok()) {
    json err = json::parse(net::ErrorBody(result.status()));
    err["type"] = "error";
    co_await ex.SendEvent(SseData(err));
  } else {
    json done = ChatJson(*result);
    done["type"] = "done";
    co_await ex.SendEvent(SseData(done));
  }
  co_return Response{};
}

// OpenAI's chat.completions: messages in (the last user message is the
// question, earlier turns the history), a grounded answer out.
asio::awaitable<Response> ChatCompletions(RouteContext* rc, Exchange& ex) {
  auto key = Authenticate(rc, ex, Scope::kQuery);
  if (!key.ok()) co_return net::ErrorResponse(key.status());
  auto body = ParseBody(ex);
  if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
  FieldReader fields(*body);
  const std::string model = fields.String("model", true, 64);
  const bool stream = fields.Bool("stream");
  if (!fields.ok()) co_return net::ErrorResponse(fields.status());
  auto messages = body->find("messages");
  if (messages == body->end() || !messages->is_array() || messages->empty()) {
    co_return net::ErrorResponse(400, "field 'messages' must be a non-empty array", "invalid_messages");
  }
  ChatInput input;
  input.collection = model;
  input.store = false;
  std::string pending_user;
  for (const auto& m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !(m["content"].is_string() || m["content"].is_array())) {
      co_return net::ErrorResponse(400, "each message needs a string 'role' and 'content'", "invalid_messages");
    }
    std::string role = m["role"].get<std::string>();
    std::string content;
    if (m["content"].is_string()) {
      content = m["content"].get<std::string>();
    } else {  // content parts: keep the text ones
      for (const auto& part : m["content"]) {
        if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
          content += part["text"].get<std::string>();
        }
      }
    }
    if (role == "user") {
      if (!pending_user.empty()) input.history.push_back({pending_user, ""});
      pending_user = content;
    } else if (role == "assistant") {
      input.history.push_back({pending_user, content});
      pending_user.clear();
    }  // system and tool messages: Lathe's own instructions apply
  }
  if (pending_user.empty()) {
    co_return net::ErrorResponse(400, "the last message must come from the user", "invalid_messages");
  }
  input.message = pending_user;
  const std::string id = "chatcmpl-" + RandomHex(12);
  const int64_t created = UnixSeconds();
  auto chunk = [&](const json& delta, const json& finish) {
    return json{{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };
  if (!stream) {
    auto result = co_await rc->assistant->Chat(key->tenant, input, nullptr);
    if (!result.ok()) co_return ErrorFor(result.status());
    size_t prompt_tokens = rag::EstimateTokens(input.message);
    size_t completion_tokens = rag::EstimateTokens(result->answer.text);
    json out = {{"id", id},
                {"object", "chat.completion"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"message", {{"role", "assistant"}, {"content", result->answer.text}}},
                                          {"finish_reason", "stop"}}})},
                {"usage",
                 {{"prompt_tokens", prompt_tokens},
                  {"completion_tokens", completion_tokens},
                  {"total_tokens", prompt_tokens + completion_tokens}}},
                {"citations", CitationsJson(result->answer.citations)},
                {"abstained", result->answer.abstained}};
    co_return Json(200, out);
  }
  rag::DeltaSink sink = [&](std::string_view piece) -> asio::awaitable<bool> {
    if (!ex.streaming()) {
      if (!co_await ex.StartEvents()) co_return false;
      json role;
      role["role"] = std::string("assistant");
      role["content"] = std::string();
      if (!co_await ex.SendEvent(SseData(chunk(role, nullptr)))) co_return false;
    }
    json delta;
    delta["content"] = std::string(piece);
    co_return co_await ex.SendEvent(SseData(chunk(delta, nullptr)));
  };
  auto result = co_await rc->assistant->Chat(key->tenant, input, sink);
  if (!ex.streaming()) {
    if (!result.ok()) co_return ErrorFor(result.status());
    if (!co_await ex.StartEvents()) co_return Response{};
  }
  if (!result.ok()) {
    co_await ex.SendEvent(SseData(json::parse(net::ErrorBody(result.status()))));
  } else {
    json last = chunk(json::object(), "stop");
    last["citations"] = CitationsJson(result->answer.citations);
    co_await ex.SendEvent(SseData(last));
  }
  co_await ex.SendEvent("data: [DONE]\n\n");
  co_return Response{};
}


// The model server for ex's {name}, or the 404 to send.
Result<ml::ModelServer*> ModelFor(RouteContext* rc, const Exchange& ex) {
  if (!rc->models.server) return NotFound("model serving is disabled on this server (models.enabled: false)");
  const std::string& name = ex.param("name");
  if (name != rc->models.server->name())
    return NotFound("model '" + name + "' is not served here (this server serves '" + rc->models.server->name() + "')");
  return rc->models.server;
}

json ModelJson(const ml::ModelServerStatus& s, const std::string& name) {
  json out = {{"object", "model"}, {"id", name}, {"name", name}};
  if (s.current) {
    out["version"] = s.current->version();
    out["kind"] = s.current->kind();
    out["threshold"] = s.current->threshold();
    out["loaded_at"] = ml::FormatTimestamp(s.current->loaded_at());
    out["features"] = s.current->spec().Names();
  } else {
    out["version"] = nullptr;
    out["kind"] = nullptr;
    out["threshold"] = nullptr;
    out["loaded_at"] = nullptr;
    out["features"] = json::array();
  }
  if (s.last_error) {
    out["last_error"] = {{"message", s.last_error->message},
                         {"version", s.last_error->version},
                         {"at", ml::FormatTimestamp(s.last_error->at)}};
  } else {
    out["last_error"] = nullptr;
  }
  out["swaps"] = s.swaps;
  out["state"] = {{"customers", s.customers}, {"terminals", s.terminals}};
  return out;
}

// The per-transaction refusal codes (docs/serving.md).
const char* RefusalCode(const Status& st) {
  if (st.code() == StatusCode::kAlreadyExists) return "duplicate_transaction";
  if (st.code() == StatusCode::kInvalidArgument) return "future_transaction";
  return "out_of_order";
}
int RefusalStatus(const Status& st) { return st.code() == StatusCode::kInvalidArgument ? 400 : 409; }

json PredictionJson(const ml::Prediction& p, const ml::LoadedModel& model, bool explain) {
  if (!explain) {
    return {{"transaction_id", p.transaction_id}, {"probability", p.probability}, {"fraud", p.fraud},
            {"threshold", model.threshold()}, {"version", model.version()}};
  }
  json top = json::array();
  for (const auto& c : p.top) {
    top.push_back({{"name", c.name},
                   {"value", std::isnan(c.value) ? json(nullptr) : json(c.value)},
                   {"contribution", c.contribution}});
  }
  return {{"transaction_id", p.transaction_id}, {"probability", p.probability}, {"fraud", p.fraud},
          {"threshold", model.threshold()},     {"version", model.version()},   {"margin", p.margin},
          {"bias", p.bias},                     {"top_features", top}};
}

asio::awaitable<Response> PredictRoute(RouteContext* rc, Exchange& ex) {
  auto key = Authenticate(rc, ex, Scope::kQuery);
  if (!key.ok()) co_return net::ErrorResponse(key.status());
  auto server = ModelFor(rc, ex);
  if (!server.ok()) co_return net::ErrorResponse(server.status(), "model_not_found");
  auto body = ParseBody(ex);
  if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
  auto parsed = ParsePredictRequest(*body, rc->models.max_batch);
  if (auto* e = std::get_if<PredictRequestError>(&parsed)) {
    co_return net::ErrorResponse(e->code == "batch_too_large" ? 413 : 400, e->message, e->code);
  }
  auto& req = std::get<PredictRequest>(parsed);
  ml::ModelServer* ms = *server;
  // Features (under the state lock) and scoring are CPU work: on the pool.
  auto outcome = co_await net::RunOnPool(*rc->models.pool, [&] { return ms->Predict(req.transactions, req.explain); });
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kUnavailable) {
      Response res = net::ErrorResponse(503, outcome.status().message(), "model_not_loaded");
      res.set(http::field::retry_after, "1");
      co_return res;
    }
    co_return net::ErrorResponse(outcome.status());
  }
  const std::string& name = ms->name();
  size_t refused = 0;
  for (const auto& p : outcome->predictions) refused += !p.status.ok();
  rc->predictions->With({name, "scored"}).Add(static_cast<double>(outcome->predictions.size() - refused));
  if (refused) rc->predictions->With({name, "refused"}).Add(static_cast<double>(refused));
  if (!req.batch) {
    const ml::Prediction& p = outcome->predictions[0];
    if (!p.status.ok()) co_return net::ErrorResponse(RefusalStatus(p.status), p.status.message(), RefusalCode(p.status));
    json out = PredictionJson(p, *outcome->model, req.explain);
    out["model"] = name;
    co_return Json(200, out);
  }
  json items = json::array();
  for (const auto& p : outcome->predictions) {
    if (p.status.ok()) {
      items.push_back(PredictionJson(p, *outcome->model, req.explain));
    } else {
      json err = json::parse(net::ErrorBody(RefusalStatus(p.status), p.status.message(), RefusalCode(p.status)));
      items.push_back({{"transaction_id", p.transaction_id}, {"error", err["error"]}});
    }
  }
  co_return Json(200, {{"object", "list"},
                       {"model", name},
                       {"version", outcome->model->version()},
                       {"threshold", outcome->model->threshold()},
                       {"refused", refused},
                       {"predictions", items}});
}

asio::awaitable<Response> ReloadRoute(RouteContext* rc, Exchange& ex) {
  auto key = Authenticate(rc, ex, Scope::kAdmin);
  if (!key.ok()) co_return net::ErrorResponse(key.status());
  auto server = ModelFor(rc, ex);
  if (!server.ok()) co_return net::ErrorResponse(server.status(), "model_not_found");
  ml::ModelServer* ms = *server;
  auto version = co_await net::RunOnPool(*rc->models.pool, [ms] { return ms->Reload(true); });
  ml::ModelServerStatus s = ms->status();
  if (!version.ok()) {
    json err = json::parse(net::ErrorBody(409, version.status().message(), "model_load_failed"));
    err["model"] = ModelJson(s, ms->name());
    co_return Json(409, err);
  }
  co_return Json(200, ModelJson(s, ms->name()));
}

}  // namespace

void AddApiRoutes(net::HttpServer* server, Assistant* assistant, net::MetricsRegistry* metrics,
                  ModelService models) {
  auto rc = std::make_shared<RouteContext>(RouteContext{assistant, metrics, models});
  rc->predictions = metrics->AddCounter("lathe_model_predictions_total",
                                        "Transactions given to the fraud model: scored, or refused (duplicate, late)",
                                        {"model", "outcome"});
  // The routes hold the context alive.
  auto route = [&](const char* method, const char* pattern,
                   std::function<asio::awaitable<Response>(RouteContext*, Exchange&)> fn) {
    server->Route(method, pattern, [rc, fn](Exchange& ex) { return fn(rc.get(), ex); });
  };

  route("GET", "/healthz", [](RouteContext*, Exchange&) -> asio::awaitable<Response> {
    co_return Json(200, {{"status", "ok"}});
  });
  route("GET", "/readyz", [](RouteContext* rc, Exchange&) -> asio::awaitable<Response> {
    if (!rc->assistant->ready()) co_return net::ErrorResponse(503, "still loading collections", "not_ready");
    co_return Json(200, {{"status", "ready"}});
  });
  route("GET", "/metrics", [](RouteContext* rc, Exchange&) -> asio::awaitable<Response> {
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = rc->metrics->Render();
    co_return res;
  });
  route("GET", "/v1/whoami", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    co_return Json(200, {{"key_id", key->key_id},
                         {"tenant", key->tenant},
                         {"scope", ScopeName(key->scope)},
                         {"name", key->name}});
  });
  route("GET", "/v1/collections", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto list = co_await rc->assistant->ListCollections(key->tenant);
    if (!list.ok()) co_return net::ErrorResponse(list.status());
    json data = json::array();
    for (const auto& c : *list) {
      data.push_back({{"name", c.name}, {"documents", c.documents}, {"chunks", c.chunks}, {"embedder", c.embedder}});
    }
    co_return Json(200, {{"object", "list"}, {"data", data}});
  });
  route("GET", "/v1/collections/{c}/documents", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto docs = co_await rc->assistant->ListDocuments(key->tenant, ex.param("c"));
    if (!docs.ok()) co_return net::ErrorResponse(docs.status());
    json data = json::array();
    for (const auto& d : *docs) {
      json meta = json::parse(d.metadata_json, nullptr, false);
      data.push_back({{"id", d.doc_id},
                      {"title", d.title},
                      {"format", d.format},
                      {"chunks", d.chunks},
                      {"content_hash", d.content_hash},
                      {"ingested_at", d.ingested_at},
                      {"metadata", meta.is_discarded() ? json::object() : meta}});
    }
    co_return Json(200, {{"object", "list"}, {"collection", ex.param("c")}, {"data", data}});
  });
  route("POST", "/v1/collections/{c}/documents", PostDocuments);
  route("DELETE", "/v1/collections/{c}/documents/{id}", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kAdmin);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    Status st = co_await rc->assistant->DeleteDocument(key->tenant, ex.param("c"), ex.param("id"));
    if (!st.ok()) co_return net::ErrorResponse(st);
    co_return Json(200, {{"deleted", ex.param("id")}, {"collection", ex.param("c")}});
  });
  route("POST", "/v1/search", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto body = ParseBody(ex);
    if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
    FieldReader fields(*body);
    SearchInput input;
    input.collection = fields.String("collection", true, 64);
    input.query = fields.String("query", true, 8000);
    std::string retriever = fields.String("retriever", false, 16);
    if (!fields.ok()) co_return net::ErrorResponse(fields.status());
    if (!retriever.empty()) input.retriever = retriever;
    if (auto k = body->find("k"); k != body->end() && !k->is_null()) {
      if (!k->is_number_integer() || k->get<int64_t>() < 1 || k->get<int64_t>() > 100) {
        co_return net::ErrorResponse(400, "field 'k' must be an integer from 1 to 100", "invalid_k");
      }
      input.k = k->get<size_t>();
    }
    if (auto f = body->find("filter"); f != body->end() && !f->is_null()) {
      if (!f->is_object()) co_return net::ErrorResponse(400, "field 'filter' must be an object", "invalid_filter");
      for (const auto& [name, value] : f->items()) {
        if (name == "doc_ids" && value.is_array()) {
          for (const auto& id : value) {
            if (!id.is_string()) {
              co_return net::ErrorResponse(400, "filter.doc_ids must be strings", "invalid_filter");
            }
            input.doc_ids.push_back(id.get<std::string>());
          }
        } else if (name == "doc_id_prefix" && value.is_string()) {
          input.doc_prefix = value.get<std::string>();
        } else {
          co_return net::ErrorResponse(400,
                                       "unknown or mistyped filter '" + name +
                                           "' (supported: doc_ids: [string], doc_id_prefix: string)",
                                       "invalid_filter");
        }
      }
    }
    auto start = std::chrono::steady_clock::now();
    auto hits = co_await rc->assistant->Search(key->tenant, input);
    if (!hits.ok()) co_return net::ErrorResponse(hits.status());
    json out = json::array();
    int rank = 0;
    for (const auto& h : *hits) {
      out.push_back({{"rank", ++rank},
                     {"chunk_id", h.hit.chunk_id},
                     {"doc_id", h.hit.doc_id},
                     {"title", h.title},
                     {"score", h.hit.score},
                     {"bm25", {{"rank", h.hit.bm25_rank}, {"score", h.hit.bm25_score}}},
                     {"vector", {{"rank", h.hit.vector_rank}, {"score", h.hit.vector_score}}},
                     {"text", h.text}});
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    co_return Json(200, {{"collection", input.collection}, {"hits", out}, {"timings_ms", {{"total", ms}}}});
  });
  route("POST", "/v1/chat", ChatRoute);
  route("GET", "/v1/conversations/{id}", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto conv = co_await rc->assistant->GetConversation(key->tenant, ex.param("id"));
    if (!conv.ok()) co_return net::ErrorResponse(conv.status());
    json turns = json::array();
    for (const auto& t : conv->turns) {
      json citations = json::parse(t.citations_json, nullptr, false);
      turns.push_back({{"message", t.user},
                       {"query", t.query},
                       {"answer", t.answer},
                       {"citations", citations.is_discarded() ? json::array() : citations},
                       {"abstained", t.abstained},
                       {"created_at", t.created_at}});
    }
    co_return Json(200, {{"id", conv->id},
                         {"collection", conv->collection},
                         {"created_at", conv->created_at},
                         {"expires_at", conv->expires_at},
                         {"turns", turns}});
  });
  route("GET", "/v1/collections/{c}/chunks/{id}", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    const std::string& id = ex.param("id");
    if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) {
      co_return net::ErrorResponse(400, "chunk id '" + id + "' is not a number (chunk ids come from citations and search hits)",
                                   "invalid_chunk_id");
    }
    auto chunk = co_await rc->assistant->GetChunk(key->tenant, ex.param("c"), std::stoll(id));
    if (!chunk.ok()) co_return net::ErrorResponse(chunk.status());
    co_return Json(200, {{"chunk_id", chunk->chunk.id},
                         {"collection", ex.param("c")},
                         {"doc_id", chunk->chunk.doc_id},
                         {"ordinal", chunk->chunk.ordinal},
                         {"title", chunk->chunk.title},
                         {"document_title", chunk->document_title},
                         {"text", chunk->chunk.text}});
  });
  route("POST", "/v1/conversations/{id}/handoff", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    std::string note;
    if (!ex.request().body().empty()) {
      auto body = ParseBody(ex);
      if (!body.ok()) co_return net::ErrorResponse(body.status(), "invalid_json");
      FieldReader fields(*body);
      note = fields.String("note", false, 4000);
      if (!fields.ok()) co_return net::ErrorResponse(fields.status());
    }
    auto handoff = co_await rc->assistant->RequestHandoff(key->tenant, ex.param("id"), note);
    if (!handoff.ok()) co_return net::ErrorResponse(handoff.status());
    co_return Json(202, {{"handoff_id", handoff->handoff_id},
                         {"conversation_id", handoff->conversation_id},
                         {"collection", handoff->collection},
                         {"status", "requested"},
                         {"created_at", handoff->created_at},
                         {"message", "A person from the support team will take over this conversation."}});
  });
  route("GET", "/v1/handoffs", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kAdmin);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto list = co_await rc->assistant->ListHandoffs(key->tenant, 100);
    if (!list.ok()) co_return net::ErrorResponse(list.status());
    json data = json::array();
    for (const auto& h : *list) {
      data.push_back({{"handoff_id", h.handoff_id}, {"conversation_id", h.conversation_id},
                      {"collection", h.collection}, {"note", h.note}, {"status", h.status},
                      {"created_at", h.created_at}});
    }
    co_return Json(200, {{"object", "list"}, {"data", data}});
  });
  route("GET", "/v1/models", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto list = co_await rc->assistant->ListCollections(key->tenant);
    if (!list.ok()) co_return net::ErrorResponse(list.status());
    json data = json::array();
    for (const auto& c : *list) {
      data.push_back({{"id", c.name}, {"object", "model"}, {"created", 0}, {"owned_by", key->tenant}});
    }
    co_return Json(200, {{"object", "list"}, {"data", data}});
  });
  route("POST", "/v1/chat/completions", ChatCompletions);
  route("GET", "/v1/models/{name}", [](RouteContext* rc, Exchange& ex) -> asio::awaitable<Response> {
    auto key = Authenticate(rc, ex, Scope::kQuery);
    if (!key.ok()) co_return net::ErrorResponse(key.status());
    auto server = ModelFor(rc, ex);
    if (!server.ok()) co_return net::ErrorResponse(server.status(), "model_not_found");
    co_return Json(200, ModelJson((*server)->status(), (*server)->name()));
  });
  route("POST", "/v1/models/{name}/predict", PredictRoute);
  route("POST", "/v1/models/{name}/reload", ReloadRoute);
}

}  // namespace lathe::app
