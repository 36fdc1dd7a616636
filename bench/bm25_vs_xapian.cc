// bm25_vs_xapian: lathe's hand-written BM25 index (rag::Bm25Index fed by
// text::Analyzer) against Xapian's BM25Weight on a BEIR data set (SciFact).
// This is the benchmark behind the house rule for Bm25Index: it shows what the
// hand-written index costs or saves against the library that does the job.
//
//   bm25_vs_xapian [DATA_DIR] [--split train] [--k 100]
//
// DATA_DIR (default /work/shared/data/scifact) holds corpus.jsonl,
// queries.jsonl and qrels/<split>.tsv; it is only read.
//
// Both engines index one document per BEIR document (title + text, no
// chunking), title terms counted title_boost times (lathe: BM25F-style tf
// weight; Xapian: wdf increment), with BM25 k1 and b taken from Bm25Params{}.
// Xapian uses an in-memory database (DB_BACKEND_INMEMORY), TermGenerator and
// QueryParser with Stem("english") and STEM_SOME, default operator OR, and a
// SimpleStopper holding exactly the words of lathe's stop list that occur in
// the corpus and queries. Neither engine stores positions.
//
// Timing (single thread, wall clock): build = analysis + indexing of all
// documents (JSON parsing excluded); query = analysis/parsing + top-k search +
// mapping hits to document ids, measured after one warm-up pass over all
// queries. nDCG@10 is computed with rag::ScoreRanking for both engines.
// Prints one JSON object.
#include <xapian.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "rag/eval/beir.h"
#include "rag/eval/metrics.h"
#include "rag/index/bm25_index.h"
#include "text/analyzer.h"

using nlohmann::json;
using namespace lathe;

namespace {

struct Doc {
  std::string id, title, text;
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// True when q contains any operator other than OR over terms (e.g. the
// QueryParser turns "0-dimensional" into a phrase, i.e. AND without positions).
bool HasNonOrOperator(const Xapian::Query& q) {
  auto op = q.get_type();
  if (op == Xapian::Query::LEAF_TERM || op == Xapian::Query::LEAF_MATCH_NOTHING) return false;
  if (op != Xapian::Query::OP_OR) return true;
  for (size_t i = 0; i < q.get_num_subqueries(); ++i) {
    if (HasNonOrOperator(q.get_subquery(i))) return true;
  }
  return false;
}

struct EngineResult {
  double build_s = 0;
  std::vector<double> ms;
  double ndcg10 = 0, r100 = 0;
  size_t empty = 0;
};

// Runs search(query_text, &ranked) once over all queries (warm-up), then again
// timing each call, and scores the timed pass.
template <typename SearchFn>
void RunQueries(const std::vector<rag::BeirQuery>& queries, SearchFn&& search, EngineResult* r) {
  std::vector<std::string> ranked;
  for (const auto& q : queries) search(q.text, &ranked);  // warm-up
  r->ms.reserve(queries.size());
  for (const auto& q : queries) {
    auto t0 = Clock::now();
    search(q.text, &ranked);
    r->ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    rag::QueryMetrics m = rag::ScoreRanking(ranked, q.judged);
    r->ndcg10 += m.ndcg10;
    r->r100 += m.r100;
    r->empty += ranked.empty();
  }
  r->ndcg10 /= static_cast<double>(queries.size());
  r->r100 /= static_cast<double>(queries.size());
}

json Report(const EngineResult& r) {
  return {{"build_s", r.build_s},
          {"p50_ms", rag::Percentile(r.ms, 50)},
          {"p99_ms", rag::Percentile(r.ms, 99)},
          {"ndcg10", r.ndcg10},
          {"recall100", r.r100},
          {"queries_without_hits", r.empty}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/work/shared/data/scifact", split = "train";
  size_t k = 100;
  CLI::App cli{"lathe Bm25Index vs Xapian BM25Weight on a BEIR data set"};
  cli.add_option("data_dir", dir, "BEIR data set directory")->capture_default_str();
  cli.add_option("--split", split, "qrels split")->capture_default_str();
  cli.add_option("--k", k, "results per query")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  // ---- Load (untimed).
  std::vector<Doc> docs;
  {
    std::ifstream in(dir + "/corpus.jsonl");
    if (!in) {
      std::cerr << "cannot open " << dir << "/corpus.jsonl\n";
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("_id")) {
        std::cerr << "bad corpus line " << docs.size() + 1 << "\n";
        return 1;
      }
      Doc d;
      d.id = j["_id"].is_string() ? j["_id"].get<std::string>() : j["_id"].dump();
      if (j.contains("title") && j["title"].is_string()) d.title = j["title"].get<std::string>();
      if (j.contains("text") && j["text"].is_string()) d.text = j["text"].get<std::string>();
      docs.push_back(std::move(d));
    }
  }
  auto loaded = rag::LoadBeirQueries(dir, split);
  if (!loaded.ok()) {
    std::cerr << loaded.status().ToString() << "\n";
    return 1;
  }
  const std::vector<rag::BeirQuery>& queries = *loaded;

  const rag::Bm25Params params{};
  const auto title_wdf = static_cast<Xapian::termcount>(params.title_boost);
  if (static_cast<float>(title_wdf) != params.title_boost) {
    std::cerr << "title_boost " << params.title_boost << " is not an integer; Xapian wdf increments are\n";
    return 1;
  }

  // Xapian's stop list: every token of the corpus and queries that lathe's
  // analyzer treats as a stop word (so the two lists agree on this data).
  Xapian::SimpleStopper stopper;
  size_t stop_words = 0;
  {
    text::Analyzer raw({.stem = false, .remove_stop_words = false});
    std::set<std::string> seen;
    std::vector<std::string> tokens;
    auto scan = [&](const std::string& s) {
      tokens.clear();
      raw.Analyze(s, &tokens);
      for (const auto& t : tokens) {
        if (text::Analyzer::IsStopWord(t) && seen.insert(t).second) stopper.add(t);
      }
    };
    for (const Doc& d : docs) {
      scan(d.title);
      scan(d.text);
    }
    for (const auto& q : queries) scan(q.text);
    stop_words = seen.size();
  }

  // ---- lathe.
  EngineResult lathe_r;
  const text::Analyzer analyzer;
  rag::Bm25Index bm25(params);
  {
    auto start = Clock::now();
    std::vector<std::string> title_terms, body_terms;
    for (const Doc& d : docs) {
      title_terms.clear();
      body_terms.clear();
      analyzer.Analyze(d.title, &title_terms);
      analyzer.Analyze(d.text, &body_terms);
      bm25.Add(title_terms, body_terms);
    }
    lathe_r.build_s = Seconds(start);
  }
  RunQueries(
      queries,
      [&](const std::string& text, std::vector<std::string>* ranked) {
        std::vector<std::string> terms = analyzer.Analyze(text);
        std::vector<rag::ScoredSlot> hits = bm25.Search(terms, k, nullptr);
        ranked->clear();
        for (const auto& h : hits) ranked->push_back(docs[h.slot].id);
      },
      &lathe_r);

  // ---- Xapian.
  EngineResult xap_r;
  const Xapian::Stem stemmer("english");
  Xapian::WritableDatabase db(std::string(), Xapian::DB_BACKEND_INMEMORY);
  {
    auto start = Clock::now();
    Xapian::TermGenerator tg;
    tg.set_stemmer(stemmer);
    tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    tg.set_stopper(&stopper);
    tg.set_stopper_strategy(Xapian::TermGenerator::STOP_ALL);
    for (const Doc& d : docs) {
      Xapian::Document doc;
      tg.set_document(doc);
      tg.index_text_without_positions(d.title, title_wdf);
      tg.index_text_without_positions(d.text);
      Xapian::docid id = db.add_document(doc);
      if (id != static_cast<Xapian::docid>(&d - docs.data()) + 1) {
        std::cerr << "unexpected Xapian docid " << id << "\n";
        return 1;
      }
    }
    db.commit();
    xap_r.build_s = Seconds(start);
  }
  // Xapian-only parameters keep their defaults: k2 = 0 (no query-length
  // term), k3 = 1 (query term frequency saturation), min_normlen = 0.5.
  const double k2 = 0, k3 = 1, min_normlen = 0.5;
  Xapian::QueryParser qp;
  qp.set_database(db);
  qp.set_stemmer(stemmer);
  qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
  qp.set_stopper(&stopper);
  qp.set_default_op(Xapian::Query::OP_OR);
  const unsigned qp_flags = Xapian::QueryParser::FLAG_DEFAULT | Xapian::QueryParser::FLAG_NO_POSITIONS;
  Xapian::Enquire enquire(db);
  enquire.set_weighting_scheme(Xapian::BM25Weight(params.k1, k2, k3, params.b, min_normlen));
  size_t parse_errors = 0, non_or_queries = 0;
  auto parse = [&](const std::string& text) {
    try {
      return qp.parse_query(text, qp_flags);
    } catch (const Xapian::QueryParserError&) {
      ++parse_errors;
      return Xapian::Query();
    }
  };
  for (const auto& q : queries) non_or_queries += HasNonOrOperator(parse(q.text));
  parse_errors = 0;
  RunQueries(
      queries,
      [&](const std::string& text, std::vector<std::string>* ranked) {
        enquire.set_query(parse(text));
        Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(k));
        ranked->clear();
        for (auto it = mset.begin(); it != mset.end(); ++it) ranked->push_back(docs[*it - 1].id);
      },
      &xap_r);
  parse_errors /= 2;  // counted in the warm-up and the timed pass

  // Z-prefixed terms are the stems, comparable with lathe's vocabulary.
  size_t xapian_stemmed_terms = 0;
  for (auto it = db.allterms_begin("Z"); it != db.allterms_end("Z"); ++it) ++xapian_stemmed_terms;

  json out = {
      {"data_dir", dir},
      {"split", split},
      {"documents", docs.size()},
      {"queries", queries.size()},
      {"k", k},
      {"threads", 1},
      {"params",
       {{"k1", params.k1},
        {"b", params.b},
        {"title_boost", params.title_boost},
        {"xapian_k2", k2},
        {"xapian_k3", k3},
        {"xapian_min_normlen", min_normlen}}},
      {"lathe", Report(lathe_r)},
      {"xapian", Report(xap_r)},
      {"lathe_vocabulary", bm25.vocabulary()},
      {"xapian_stemmed_terms", xapian_stemmed_terms},
      {"xapian_version", Xapian::version_string()},
      {"xapian_backend", "inmemory"},
      {"xapian_stop_words", stop_words},
      {"xapian_queries_with_non_or_operator", non_or_queries},
      {"xapian_parse_errors", parse_errors},
  };
  std::cout << out.dump(2) << "\n";
  return 0;
}
