#include "rag/index/bm25_index.h"

#include <algorithm>
#include <cmath>

namespace lathe::rag {

uint32_t Bm25Index::Add(const std::vector<std::string>& title_terms, const std::vector<std::string>& body_terms) {
  uint32_t slot = static_cast<uint32_t>(doc_len_.size());
  // Term frequencies by sorting (term id, weight) pairs rather than through a
  // hash map: no allocation per term, and a stable sort keeps each term's
  // additions in text order (body, then title), so the sums are the same.
  std::vector<std::pair<uint32_t, float>>& occurrences = scratch_;
  occurrences.clear();
  auto collect = [&](const std::vector<std::string>& terms, float weight) {
    for (const std::string& term : terms) {
      auto [it, inserted] = term_ids_.try_emplace(term, static_cast<uint32_t>(postings_.size()));
      if (inserted) {
        postings_.emplace_back();
        df_.push_back(0);
      }
      occurrences.emplace_back(it->second, weight);
    }
  };
  collect(body_terms, 1.0f);
  collect(title_terms, params_.title_boost);
  std::stable_sort(occurrences.begin(), occurrences.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<uint32_t> unique;
  for (size_t i = 0; i < occurrences.size();) {
    const uint32_t term = occurrences[i].first;
    float freq = 0;
    for (; i < occurrences.size() && occurrences[i].first == term; ++i) freq += occurrences[i].second;
    postings_[term].push_back(Posting{slot, freq});
    ++df_[term];
    unique.push_back(term);
  }
  float len = static_cast<float>(body_terms.size()) + params_.title_boost * static_cast<float>(title_terms.size());
  doc_len_.push_back(len);
  alive_.push_back(1);
  slot_terms_.push_back(std::move(unique));
  total_len_ += len;
  ++live_;
  return slot;
}

void Bm25Index::Remove(uint32_t slot) {
  if (slot >= alive_.size() || !alive_[slot]) return;
  alive_[slot] = 0;
  for (uint32_t term : slot_terms_[slot]) --df_[term];
  slot_terms_[slot].clear();
  slot_terms_[slot].shrink_to_fit();
  total_len_ -= doc_len_[slot];
  --live_;
}

std::vector<ScoredSlot> Bm25Index::Search(const std::vector<std::string>& query_terms, size_t k,
                                          const uint8_t* allowed) const {
  std::vector<ScoredSlot> out;
  if (live_ == 0 || k == 0) return out;
  std::unordered_map<uint32_t, float> qtf;
  for (const std::string& term : query_terms) {
    auto it = term_ids_.find(term);
    if (it != term_ids_.end()) qtf[it->second] += 1.0f;
  }
  if (qtf.empty()) return out;

  thread_local std::vector<float> scores;
  thread_local std::vector<uint32_t> touched;
  if (scores.size() < doc_len_.size()) scores.resize(doc_len_.size(), 0.0f);
  touched.clear();

  const float k1 = params_.k1;
  const float b = params_.b;
  const float avg_len = static_cast<float>(total_len_ / static_cast<double>(live_));
  const double n = static_cast<double>(live_);
  for (const auto& [term, q] : qtf) {
    double df = df_[term];
    if (df == 0) continue;
    float idf = static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
    float weight = q * idf;
    for (const Posting& p : postings_[term]) {
      if (!alive_[p.slot] || (allowed != nullptr && !allowed[p.slot])) continue;
      float norm = k1 * (1.0f - b + b * doc_len_[p.slot] / avg_len);
      float s = weight * p.tf * (k1 + 1.0f) / (p.tf + norm);
      if (scores[p.slot] == 0.0f) touched.push_back(p.slot);
      scores[p.slot] += s;
    }
  }
  out.reserve(touched.size());
  for (uint32_t slot : touched) {
    out.push_back(ScoredSlot{slot, scores[slot]});
    scores[slot] = 0.0f;
  }
  auto better = [](const ScoredSlot& a, const ScoredSlot& c) {
    return a.score > c.score || (a.score == c.score && a.slot < c.slot);
  };
  if (out.size() > k) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
    out.resize(k);
  } else {
    std::sort(out.begin(), out.end(), better);
  }
  return out;
}

float Bm25Index::Idf(const std::string& term) const {
  const double n = static_cast<double>(live_);
  double df = 1;
  auto it = term_ids_.find(term);
  if (it != term_ids_.end() && df_[it->second] > 0) df = df_[it->second];
  return static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
}

bool Bm25Index::Contains(const std::string& term, uint32_t slot) const {
  if (!alive(slot)) return false;
  auto it = term_ids_.find(term);
  if (it == term_ids_.end()) return false;
  const std::vector<Posting>& list = postings_[it->second];
  auto p = std::lower_bound(list.begin(), list.end(), slot, [](const Posting& a, uint32_t s) { return a.slot < s; });
  return p != list.end() && p->slot == slot;
}

void Bm25Index::ScoreSlots(const std::vector<std::string>& query_terms, const std::vector<uint32_t>& slots,
                           float* scores) const {
  std::fill(scores, scores + slots.size(), 0.0f);
  if (live_ == 0) return;
  std::unordered_map<uint32_t, float> qtf;
  for (const std::string& term : query_terms) {
    auto it = term_ids_.find(term);
    if (it != term_ids_.end()) qtf[it->second] += 1.0f;
  }
  const float avg_len = static_cast<float>(total_len_ / static_cast<double>(live_));
  const double n = static_cast<double>(live_);
  for (const auto& [term, q] : qtf) {
    double df = df_[term];
    if (df == 0) continue;
    float weight = q * static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
    const std::vector<Posting>& list = postings_[term];
    for (size_t i = 0; i < slots.size(); ++i) {
      uint32_t slot = slots[i];
      if (slot >= alive_.size() || !alive_[slot]) continue;
      // Postings are in slot order: binary search.
      auto it = std::lower_bound(list.begin(), list.end(), slot,
                                 [](const Posting& p, uint32_t s) { return p.slot < s; });
      if (it == list.end() || it->slot != slot) continue;
      float norm = params_.k1 * (1.0f - params_.b + params_.b * doc_len_[slot] / avg_len);
      scores[i] += weight * it->tf * (params_.k1 + 1.0f) / (it->tf + norm);
    }
  }
}

void Bm25Index::Compact(const std::vector<uint32_t>& new_slot) {
  std::vector<float> doc_len(live_);
  std::vector<std::vector<uint32_t>> slot_terms(live_);
  for (uint32_t s = 0; s < alive_.size(); ++s) {
    if (!alive_[s]) continue;
    doc_len[new_slot[s]] = doc_len_[s];
    slot_terms[new_slot[s]] = std::move(slot_terms_[s]);
  }
  for (std::vector<Posting>& list : postings_) {
    size_t out = 0;
    for (const Posting& p : list) {
      if (alive_[p.slot]) list[out++] = Posting{new_slot[p.slot], p.tf};
    }
    list.resize(out);
  }
  doc_len_ = std::move(doc_len);
  slot_terms_ = std::move(slot_terms);
  alive_.assign(live_, 1);
}

void Bm25Index::Serialize(BinaryWriter* w) const {
  w->Put(params_.k1);
  w->Put(params_.b);
  w->Put(params_.title_boost);
  w->Put<uint64_t>(term_ids_.size());
  std::vector<const std::string*> by_id(term_ids_.size());
  for (const auto& [term, id] : term_ids_) by_id[id] = &term;
  for (size_t id = 0; id < by_id.size(); ++id) {
    w->PutString(*by_id[id]);
    std::vector<uint32_t> slots;
    std::vector<float> tfs;
    for (const Posting& p : postings_[id]) {
      if (!alive_[p.slot]) continue;
      slots.push_back(p.slot);
      tfs.push_back(p.tf);
    }
    w->PutArray(slots);
    w->PutArray(tfs);
  }
  w->PutArray(doc_len_);
  w->PutArray(alive_);
}

Status Bm25Index::Deserialize(BinaryReader* r) {
  auto bad = [](const char* what) { return Corruption(std::string("bm25 index: ") + what); };
  uint64_t terms = 0;
  if (!r->Get(&params_.k1) || !r->Get(&params_.b) || !r->Get(&params_.title_boost) || !r->Get(&terms)) {
    return bad("truncated header");
  }
  term_ids_.clear();
  postings_.assign(terms, {});
  df_.assign(terms, 0);
  std::vector<std::vector<uint32_t>> slot_terms;
  for (uint64_t id = 0; id < terms; ++id) {
    std::string term;
    std::vector<uint32_t> slots;
    std::vector<float> tfs;
    if (!r->GetString(&term) || !r->GetArray(&slots) || !r->GetArray(&tfs) || slots.size() != tfs.size()) {
      return bad("truncated postings");
    }
    term_ids_.emplace(std::move(term), static_cast<uint32_t>(id));
    postings_[id].reserve(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) postings_[id].push_back(Posting{slots[i], tfs[i]});
  }
  if (!r->GetArray(&doc_len_) || !r->GetArray(&alive_) || doc_len_.size() != alive_.size()) {
    return bad("truncated document table");
  }
  slot_terms_.assign(doc_len_.size(), {});
  for (uint32_t id = 0; id < postings_.size(); ++id) {
    for (const Posting& p : postings_[id]) {
      if (p.slot >= alive_.size() || !alive_[p.slot]) return bad("posting names an unknown slot");
      slot_terms_[p.slot].push_back(id);
      ++df_[id];
    }
  }
  total_len_ = 0;
  live_ = 0;
  for (size_t s = 0; s < alive_.size(); ++s) {
    if (alive_[s]) {
      total_len_ += doc_len_[s];
      ++live_;
    }
  }
  return Status::OK();
}

}  // namespace lathe::rag
