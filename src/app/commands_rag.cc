// ingest, delete, search, collections and eval: the knowledge-base commands.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/commands.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "rag/eval/beir.h"
#include "rag/ingest/ingester.h"
#include "text/sentence_splitter.h"

namespace lathe::app {
namespace {

using nlohmann::json;

int Fail(const Status& st) { return ReportError(st); }

void AddIndexOptions(CLI::App* cmd, Settings* s) {
  cmd->add_option("--k1", s->index.bm25.k1, "BM25 term-frequency saturation")->capture_default_str()->group("Tuning");
  cmd->add_option("--b", s->index.bm25.b, "BM25 length normalisation")->capture_default_str()->group("Tuning");
  cmd->add_option("--title-boost", s->index.bm25.title_boost, "Weight of title terms")->capture_default_str()->group("Tuning");
  cmd->add_option("--embedder", s->embedder.kind, "Built-in embedder: lsa (trained on the collection) or hash")
      ->check(CLI::IsMember({"lsa", "hash"}))->capture_default_str()->group("Tuning");
  cmd->add_option("--embed-dim", s->embedder.dim, "Dimension of the built-in embedder")->capture_default_str()->group("Tuning");
  cmd->add_option("--lsa-sigma-power", s->embedder.lsa_sigma_power, "LSA: scale coordinates by singular value^p")
      ->capture_default_str()->group("Tuning");
  cmd->add_option("--ann-threshold", s->index.vector.ann_threshold, "Vectors above which IVF replaces exact search")
      ->capture_default_str()->group("Tuning");
  cmd->add_option("--nprobe", s->index.vector.nprobe, "IVF cells visited per query")
      ->capture_default_str()->group("Tuning");
}

void AddChunkOptions(CLI::App* cmd, Settings* s) {
  cmd->add_option("--chunk-words", s->chunker.max_words, "Chunk budget in words")->capture_default_str()->group("Tuning");
  cmd->add_option("--overlap-words", s->chunker.overlap_words, "Overlap between chunks in words")
      ->capture_default_str()->group("Tuning");
}

void AddFusionOptions(CLI::App* cmd, Settings* s) {
  cmd->add_option("--rrf-k", s->fusion.rrf_k, "Reciprocal-rank-fusion constant")->capture_default_str()->group("Tuning");
  cmd->add_option("--bm25-weight", s->fusion.bm25_weight, "RRF weight of BM25")->capture_default_str()->group("Tuning");
  cmd->add_option("--vector-weight", s->fusion.vector_weight, "RRF weight of vectors")->capture_default_str()->group("Tuning");
  cmd->add_option("--fusion", s->fusion_method, "rrf or weighted")->check(CLI::IsMember({"rrf", "weighted"}))
      ->capture_default_str()->group("Tuning");
  cmd->add_option("--alpha", s->fusion.alpha, "Weighted fusion: share of BM25")->capture_default_str()->group("Tuning");
  cmd->add_option("--prf-docs", s->fusion.prf_docs, "Vector pseudo-relevance feedback: BM25 chunks")
      ->capture_default_str()->group("Tuning");
  cmd->add_option("--prf-weight", s->fusion.prf_weight, "Vector pseudo-relevance feedback weight")
      ->capture_default_str()->group("Tuning");
  cmd->add_option("--candidates", s->candidates, "Per-retriever depth before fusion")->capture_default_str()->group("Tuning");
}

// The sentence of text sharing the most terms with the query, cut to max_chars.
std::string Snippet(const text::Analyzer& analyzer, const std::string& query, const std::string& text,
                    size_t max_chars = 280) {
  std::vector<std::string> q = analyzer.Analyze(query);
  std::string best;
  int best_score = -1;
  for (const std::string& sentence : text::SplitSentences(text)) {
    int score = 0;
    for (const std::string& t : analyzer.Analyze(sentence)) score += std::count(q.begin(), q.end(), t) > 0;
    if (score > best_score) {
      best_score = score;
      best = sentence;
    }
  }
  for (char& c : best) {
    if (c == '\n') c = ' ';
  }
  if (best.size() > max_chars) {
    size_t cut = best.rfind(' ', max_chars);
    best = best.substr(0, cut == std::string::npos ? max_chars : cut) + " …";
  }
  return best;
}

int RunIngest(AppContext* ctx, const std::vector<std::string>& paths, const rag::IngestOptions& base, bool json_out) {
  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  rag::IngestOptions options = base;
  options.chunker = ctx->settings.chunker;
  rag::Ingester ingester(ctx->catalog.get(), ctx->settings.data_dir, ctx->embedders.get(), ctx->settings.index,
                         ctx->pool.get());
  size_t committed = 0;
  auto started = std::chrono::steady_clock::now();
  auto report = ingester.Ingest(
      paths, options,
      [](const std::string& source, const std::string& reason) {
        std::fprintf(stderr, "skipped %s: %s\n", source.c_str(), reason.c_str());
      },
      [&](const std::vector<std::string>& ids) {
        committed += ids.size();
        LOG_DEBUG("committed batch of {} documents ({} so far)", ids.size(), committed);
      });
  if (!report.ok()) return Fail(report.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const rag::IngestReport& r = *report;
  if (json_out) {
    json j = {{"collection", options.collection}, {"files", r.files}, {"added", r.added}, {"updated", r.updated},
              {"unchanged", r.unchanged}, {"failed", r.failed}, {"chunks", r.chunks}, {"seconds", seconds}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("collection '%s': %zu added, %zu updated, %zu unchanged, %zu failed; %zu chunks written in %.2f s\n",
                options.collection.c_str(), r.added, r.updated, r.unchanged, r.failed, r.chunks, seconds);
  }
  if (!r.ok()) {
    std::fprintf(stderr, "lathe: nothing could be ingested\n");
    return 1;
  }
  return 0;
}

struct SearchArgs {
  std::string query;
  std::string collection = "default";
  size_t k = 5;
  std::string retriever = "hybrid";
  bool json = false;
  bool per_document = false;
};

int RunSearch(AppContext* ctx, const SearchArgs& args) {
  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  auto kind = rag::ParseRetriever(args.retriever);
  if (!kind.ok()) return Fail(kind.status());
  if (args.k == 0 || args.k > 1000) return Fail(InvalidArgument("-k must be between 1 and 1000"));
  auto index = ctx->LoadIndex(args.collection);
  if (!index.ok()) return Fail(index.status());
  rag::Retriever retriever(index->get(), ctx->pool.get());
  rag::RetrieveOptions options;
  options.kind = *kind;
  options.k = args.k;
  options.candidates = ctx->settings.candidates;
  options.fusion = ctx->settings.Fusion();
  options.one_per_document = args.per_document;
  auto started = std::chrono::steady_clock::now();
  std::vector<rag::Hit> hits = retriever.Search(args.query, options);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::vector<int64_t> ids;
  for (const rag::Hit& h : hits) ids.push_back(h.chunk_id);
  auto chunks = ctx->catalog->GetChunks(ids);
  if (!chunks.ok()) return Fail(chunks.status());
  const text::Analyzer& analyzer = (*index)->analyzer();
  if (args.json) {
    json out = {{"query", args.query}, {"collection", args.collection}, {"retriever", args.retriever},
                {"took_ms", ms}, {"hits", json::array()}};
    for (size_t i = 0; i < hits.size() && i < chunks->size(); ++i) {
      const rag::ChunkRecord& c = (*chunks)[i];
      out["hits"].push_back({{"rank", i + 1}, {"doc_id", c.doc_id}, {"chunk_id", c.id}, {"title", c.title},
                             {"score", hits[i].score}, {"bm25_rank", hits[i].bm25_rank},
                             {"bm25_score", hits[i].bm25_score}, {"vector_rank", hits[i].vector_rank},
                             {"vector_score", hits[i].vector_score},
                             {"snippet", Snippet(analyzer, args.query, c.text)}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (hits.empty()) {
    std::printf("no passages match \"%s\" in collection '%s'\n", args.query.c_str(), args.collection.c_str());
    return 0;
  }
  for (size_t i = 0; i < hits.size() && i < chunks->size(); ++i) {
    const rag::ChunkRecord& c = (*chunks)[i];
    std::printf("%zu. %s  [score %.4f]\n   %s\n   %s\n", i + 1, c.doc_id.c_str(), hits[i].score, c.title.c_str(),
                Snippet(analyzer, args.query, c.text).c_str());
  }
  return 0;
}

int RunCollections(AppContext* ctx, bool json_out) {
  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  auto list = ctx->catalog->ListCollections();
  if (!list.ok()) return Fail(list.status());
  json out = json::array();
  for (const rag::CollectionInfo& c : *list) {
    if (json_out) {
      out.push_back({{"name", c.name}, {"tenant", c.tenant}, {"documents", c.documents}, {"chunks", c.chunks},
                     {"embedder", c.embedder}});
    } else {
      std::printf("%-24s %8lld documents %8lld chunks  %s\n", c.name.c_str(), static_cast<long long>(c.documents),
                  static_cast<long long>(c.chunks), c.embedder.c_str());
    }
  }
  if (json_out) std::cout << out.dump(2) << "\n";
  return 0;
}

struct EvalArgs {
  std::string beir_dir;
  std::string corpus, queries, qrels;  // instead of a BEIR folder
  std::string split = "train";
  size_t k = 10;
  bool json = false;
  std::vector<std::string> retrievers = {"bm25", "vector", "hybrid"};
  bool keep_data_dir = false;
};

int RunEval(AppContext* ctx, const EvalArgs& args, bool data_dir_given) {
  namespace fs = std::filesystem;
  std::string temp_dir;
  if (!data_dir_given) {
    std::string tmpl = (fs::temp_directory_path() / "lathe-eval-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Fail(IOError("cannot create a temporary data directory"));
    temp_dir = tmpl;
    ctx->settings.data_dir = temp_dir;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (!dir.empty()) {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    }
  } cleanup{temp_dir};

  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  const bool beir = !args.beir_dir.empty();
  if (beir == !args.corpus.empty() || args.corpus.empty() != args.queries.empty() ||
      args.corpus.empty() != args.qrels.empty()) {
    return Fail(InvalidArgument("give either --beir DIR, or --corpus PATH with --queries FILE and --qrels FILE"));
  }
  auto queries = beir ? rag::LoadBeirQueries(args.beir_dir, args.split)
                      : rag::LoadJudgedQueries(args.queries, args.qrels);
  if (!queries.ok()) return Fail(queries.status());
  const std::string source = beir ? args.beir_dir : args.corpus;
  std::string collection = "eval-" + fs::path(source).lexically_normal().filename().string();
  rag::IngestOptions ingest;
  ingest.collection = collection;
  ingest.chunker = ctx->settings.chunker;
  ingest.batch_size = 512;
  rag::Ingester ingester(ctx->catalog.get(), ctx->settings.data_dir, ctx->embedders.get(), ctx->settings.index,
                         ctx->pool.get());
  auto started = std::chrono::steady_clock::now();
  auto report = ingester.Ingest({beir ? args.beir_dir + "/corpus.jsonl" : args.corpus}, ingest,
                                [](const std::string& source, const std::string& reason) {
                                  std::fprintf(stderr, "skipped %s: %s\n", source.c_str(), reason.c_str());
                                });
  if (!report.ok()) return Fail(report.status());
  if (!report->ok()) return Fail(InvalidArgument(source + ": nothing could be ingested"));
  double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LOG_INFO("ingested {} documents ({} chunks) in {:.2f} s", report->added + report->updated + report->unchanged,
           report->chunks, ingest_s);
  auto info = ctx->catalog->GetCollection(collection);
  if (!info.ok()) return Fail(info.status());
  auto index = ctx->LoadIndex(collection);
  if (!index.ok()) return Fail(index.status());
  rag::Retriever retriever(index->get(), ctx->pool.get());

  json results = json::array();
  if (!args.json) {
    std::printf("%s (%s split, %zu queries, %lld documents, %zu chunks)\n", source.c_str(), beir ? args.split.c_str() : "-",
                queries->size(), static_cast<long long>(info->documents), (*index)->live_chunks());
    std::printf("%-8s %6s %6s %6s %6s %6s %8s %8s %8s %8s %8s\n", "retriever", "P@1", "P@5", "P@10", "R@10", "R@100",
                "nDCG@10", "MRR@10", "p50 ms", "p95 ms", "p99 ms");
  }
  for (const std::string& name : args.retrievers) {
    auto kind = rag::ParseRetriever(name);
    if (!kind.ok()) return Fail(kind.status());
    rag::RetrieveOptions options;
    options.kind = *kind;
    options.candidates = ctx->settings.candidates;
    options.fusion = ctx->settings.Fusion();
    rag::EvalResult r = rag::Evaluate(retriever, *queries, options, args.k);
    const rag::QueryMetrics& m = r.mean;
    if (args.json) {
      results.push_back({{"retriever", name}, {"p_at_1", m.p1}, {"p_at_5", m.p5}, {"p_at_10", m.p10},
                         {"recall_at_10", m.r10}, {"recall_at_100", m.r100}, {"ndcg_at_10", m.ndcg10},
                         {"mrr_at_10", m.mrr10}, {"k", args.k}, {"p_at_k", m.pk}, {"recall_at_k", m.rk},
                         {"ndcg_at_k", m.ndcgk},
                         {"latency_ms", {{"p50", r.p50_ms}, {"p95", r.p95_ms}, {"p99", r.p99_ms}}}});
    } else {
      std::printf("%-9s %6.3f %6.3f %6.3f %6.3f %6.3f %8.4f %8.4f %8.3f %8.3f %8.3f\n", name.c_str(), m.p1, m.p5,
                  m.p10, m.r10, m.r100, m.ndcg10, m.mrr10, r.p50_ms, r.p95_ms, r.p99_ms);
    }
  }
  if (args.json) {
    json out = {{"dataset", fs::path(source).lexically_normal().filename().string()},
                {"split", beir ? args.split : ""},
                {"queries", queries->size()},
                {"documents", info->documents},
                {"chunks", (*index)->live_chunks()},
                {"ingest_seconds", ingest_s},
                {"results", results}};
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

int RunDocuments(AppContext* ctx, const std::string& collection, bool json_out) {
  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  auto info = ctx->catalog->GetCollection(collection);
  if (!info.ok()) return Fail(info.status());
  auto docs = ctx->catalog->ListDocuments(info->id);
  if (!docs.ok()) return Fail(docs.status());
  json out = json::array();
  for (const rag::DocumentInfo& d : *docs) {
    if (json_out) {
      out.push_back({{"id", d.doc_id}, {"title", d.title}, {"format", d.format}, {"chunks", d.chunks},
                     {"ingested_at", d.ingested_at}, {"source", d.source}});
    } else {
      std::printf("%-56s %4lld chunks  %s\n", d.doc_id.c_str(), static_cast<long long>(d.chunks), d.title.c_str());
    }
  }
  if (json_out) std::cout << out.dump(2) << "\n";
  return 0;
}

// Verifies the catalog (SQLite integrity, foreign keys, orphans) and that
// every collection's index loads and holds exactly the catalog's chunks.
int RunCheck(AppContext* ctx) {
  Status st = ctx->Open();
  if (!st.ok()) return Fail(st);
  st = ctx->catalog->CheckConsistency();
  if (!st.ok()) return Fail(st);
  auto list = ctx->catalog->ListCollections();
  if (!list.ok()) return Fail(list.status());
  for (const rag::CollectionInfo& c : *list) {
    if (c.chunks == 0) {
      std::printf("collection '%s': empty\n", c.name.c_str());
      continue;
    }
    auto index = ctx->LoadIndex(c.name);
    if (!index.ok()) return Fail(index.status());
    if (static_cast<int64_t>((*index)->live_chunks()) != c.chunks) {
      return Fail(Corruption("collection '" + c.name + "': index holds " + std::to_string((*index)->live_chunks()) +
                             " chunks, catalog " + std::to_string(c.chunks)));
    }
    std::printf("collection '%s': ok (%lld documents, %lld chunks, index %s)\n", c.name.c_str(),
                static_cast<long long>(c.documents), static_cast<long long>(c.chunks),
                (*index)->loaded_from_snapshot() ? "from snapshot" : "rebuilt");
  }
  std::printf("catalog ok\n");
  return 0;
}

// The main job for now: ingest the bundled knowledge base, then show the best
// passages for each sample question.
}  // namespace

int RunKbDemo(AppContext* ctx, const std::string& kb, const std::string& questions_path, size_t k) {
  rag::IngestOptions ingest;
  ingest.collection = "support";
  int rc = RunIngest(ctx, {kb}, ingest, false);
  if (rc != 0) return rc;
  auto questions = ReadFile(questions_path);
  if (!questions.ok()) return Fail(questions.status());
  std::istringstream in(*questions);
  std::string q;
  while (std::getline(in, q)) {
    if (q.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::printf("\n> %s\n", q.c_str());
    SearchArgs args;
    args.query = q;
    args.collection = ingest.collection;
    args.k = k;
    args.per_document = true;
    rc = RunSearch(ctx, args);
    if (rc != 0) return rc;
  }
  std::printf("\nTry your own: ./build/lathe --data-dir %s search -c support \"how do I reset my password\"\n",
              ctx->settings.data_dir.c_str());
  return 0;
}

int ReportError(const Status& st) {
  std::fprintf(stderr, "lathe: %s\n", st.message().c_str());
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound ? 2 : 1;
}

void RegisterRagCommands(CLI::App* app, AppContext* ctx, int* exit_code) {
  Settings* s = &ctx->settings;

  // ingest
  auto* ingest = app->add_subcommand("ingest", "Add files or folders (.md .html .txt .pdf .jsonl) to a collection");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto ingest_opts = std::make_shared<rag::IngestOptions>();
  auto ingest_json = std::make_shared<bool>(false);
  ingest->add_option("paths", *paths, "Files or folders (recursive)")->required();
  ingest->add_option("--collection,-c", ingest_opts->collection, "Collection name")->capture_default_str();
  ingest->add_option("--tenant", ingest_opts->tenant, "Tenant owning a new collection")->capture_default_str();
  ingest->add_option("--batch-size", ingest_opts->batch_size, "Documents per committed batch")->capture_default_str();
  ingest->add_flag("--json", *ingest_json, "Print the report as JSON");
  ingest->add_option("--max-file-mb", ingest_opts->max_file_bytes, "Refuse files larger than this many MiB")
      ->transform([](std::string v) { return std::to_string(std::stoull(v) << 20); });
  AddIndexOptions(ingest, s);
  AddChunkOptions(ingest, s);
  ingest->callback([=] {
    if (ingest_opts->batch_size == 0) ingest_opts->batch_size = 1;
    *exit_code = RunIngest(ctx, *paths, *ingest_opts, *ingest_json);
  });

  // delete
  auto* del = app->add_subcommand("delete", "Remove one document and its chunks");
  auto doc_id = std::make_shared<std::string>();
  auto del_collection = std::make_shared<std::string>("default");
  del->add_option("doc_id", *doc_id, "Document id (BEIR _id or path relative to the ingested folder)")->required();
  del->add_option("--collection,-c", *del_collection, "Collection name")->capture_default_str();
  AddIndexOptions(del, s);
  del->callback([=] {
    Status st = ctx->Open();
    if (st.ok()) {
      rag::Ingester ingester(ctx->catalog.get(), s->data_dir, ctx->embedders.get(), s->index, ctx->pool.get());
      st = ingester.Delete(*del_collection, *doc_id);
    }
    if (!st.ok()) {
      *exit_code = Fail(st);
      return;
    }
    std::printf("deleted %s from collection '%s'\n", doc_id->c_str(), del_collection->c_str());
  });

  // search
  auto* search = app->add_subcommand("search", "Print the best passages for a query");
  auto search_args = std::make_shared<SearchArgs>();
  search->add_option("query", search_args->query, "The question or keywords")->required();
  search->add_option("-k", search_args->k, "Number of results")->capture_default_str();
  search->add_option("--collection,-c", search_args->collection, "Collection name")->capture_default_str();
  search->add_option("--retriever", search_args->retriever, "bm25, vector or hybrid")->capture_default_str();
  search->add_flag("--per-document", search_args->per_document, "At most one passage per document");
  search->add_flag("--json", search_args->json, "Print JSON");
  AddIndexOptions(search, s);
  AddFusionOptions(search, s);
  search->callback([=] { *exit_code = RunSearch(ctx, *search_args); });

  // collections
  auto* collections = app->add_subcommand("collections", "List collections with document and chunk counts");
  auto coll_json = std::make_shared<bool>(false);
  collections->add_flag("--json", *coll_json, "Print JSON");
  collections->callback([=] { *exit_code = RunCollections(ctx, *coll_json); });

  // documents
  auto* documents = app->add_subcommand("documents", "List a collection's documents");
  auto docs_collection = std::make_shared<std::string>("default");
  auto docs_json = std::make_shared<bool>(false);
  documents->add_option("--collection,-c", *docs_collection, "Collection name")->capture_default_str();
  documents->add_flag("--json", *docs_json, "Print JSON");
  documents->callback([=] { *exit_code = RunDocuments(ctx, *docs_collection, *docs_json); });

  // check
  auto* check = app->add_subcommand("check", "Verify the catalog and that every index matches it");
  AddIndexOptions(check, s);
  check->callback([=] { *exit_code = RunCheck(ctx); });

  // eval
  auto* eval = app->add_subcommand("eval", "Measure retrieval quality and latency on a BEIR data set");
  auto eval_args = std::make_shared<EvalArgs>();
  eval->add_option("--beir", eval_args->beir_dir, "BEIR folder (corpus.jsonl, queries.jsonl, qrels/)");
  eval->add_option("--corpus", eval_args->corpus, "Instead of --beir: files or a folder to ingest (any format)");
  eval->add_option("--queries", eval_args->queries, "With --corpus: queries.jsonl ({\"_id\", \"text\"} per line)");
  eval->add_option("--qrels", eval_args->qrels, "With --corpus: query-id, corpus-id, score (TSV; ids as ingested)");
  eval->add_option("--split", eval_args->split, "qrels split: train, dev or test")->capture_default_str();
  eval->add_option("-k", eval_args->k, "Extra cut-off: P@k, R@k and nDCG@k are reported besides the fixed ones")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  eval->add_option("--retrievers", eval_args->retrievers, "Which retrievers to run")->delimiter(',');
  eval->add_flag("--json", eval_args->json, "Print one JSON object");
  AddIndexOptions(eval, s);
  AddChunkOptions(eval, s);
  AddFusionOptions(eval, s);
  eval->callback([=] {
    bool given = app->get_option("--data-dir")->count() > 0;
    *exit_code = RunEval(ctx, *eval_args, given);
  });
}

}  // namespace lathe::app
