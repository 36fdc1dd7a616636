// Tests for Bm25Index: scores against a hand computation, removal, filters
// applied inside the search, and the serialised form.
#include "rag/index/bm25_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace lathe::rag {
namespace {

using Terms = std::vector<std::string>;

// Parameters spelled out so the tests do not depend on tuned defaults.
Bm25Params Params(float k1 = 0.9f, float b = 0.4f, float title_boost = 1.0f) {
  Bm25Params p;
  p.k1 = k1;
  p.b = b;
  p.title_boost = title_boost;
  return p;
}

// Okapi BM25 with Lucene's idf, written out independently of the index.
//   idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))
//   score    = sum_t idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))
double ReferenceBm25(const std::vector<Terms>& corpus, const std::vector<bool>& live, const Terms& query,
                     size_t doc, double k1, double b) {
  double n = 0, total_len = 0;
  std::map<std::string, double> df;
  for (size_t d = 0; d < corpus.size(); ++d) {
    if (!live[d]) continue;
    ++n;
    total_len += static_cast<double>(corpus[d].size());
    std::map<std::string, int> seen;
    for (const std::string& t : corpus[d]) {
      if (seen[t]++ == 0) df[t] += 1;
    }
  }
  const double avg_len = total_len / n;
  const double len = static_cast<double>(corpus[doc].size());
  double score = 0;
  for (const std::string& q : query) {
    double tf = 0;
    for (const std::string& t : corpus[doc]) tf += t == q;
    if (tf == 0) continue;
    const double idf = std::log(1.0 + (n - df[q] + 0.5) / (df[q] + 0.5));
    score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len));
  }
  return score;
}

const std::vector<Terms> kCorpus = {
    {"apple", "banana", "apple"},             // 0
    {"apple", "cherry"},                      // 1
    {"banana", "cherry", "date", "elder"},    // 2
    {"fig"},                                  // 3
    {"cherry", "cherry", "cherry", "apple"},  // 4
};

Bm25Index BuildCorpus(const Bm25Params& params) {
  Bm25Index index(params);
  for (const Terms& doc : kCorpus) index.Add({}, doc);
  return index;
}

TEST(Bm25Index, ScoresMatchHandComputation) {
  const Bm25Params params = Params(1.2f, 0.75f);
  Bm25Index index = BuildCorpus(params);
  const Terms query = {"apple", "banana"};
  std::vector<ScoredSlot> hits = index.Search(query, 10, nullptr);

  // N = 5, avg len = (3 + 2 + 4 + 1 + 4) / 5 = 2.8; df(apple) = 3, df(banana) = 2.
  // Slot 0: apple tf 2 and banana tf 1 in 3 terms -> the best. Slot 3 matches nothing.
  const std::vector<bool> live(kCorpus.size(), true);
  std::vector<std::pair<double, uint32_t>> expected;
  for (uint32_t d = 0; d < kCorpus.size(); ++d) {
    double s = ReferenceBm25(kCorpus, live, query, d, params.k1, params.b);
    if (s > 0) expected.emplace_back(s, d);
  }
  std::sort(expected.rbegin(), expected.rend());
  ASSERT_EQ(hits.size(), expected.size());
  ASSERT_EQ(hits.size(), 4u);
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].slot, expected[i].second) << "rank " << i;
    EXPECT_NEAR(hits[i].score, expected[i].first, 1e-5) << "rank " << i;
  }
  EXPECT_EQ(hits[0].slot, 0u);

  // One value fully by hand: slot 1 = idf(apple) * 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2 / 2.8)).
  const double idf_apple = std::log(1.0 + (5 - 3 + 0.5) / (3 + 0.5));
  const double slot1 = idf_apple * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2 / 2.8));
  auto it = std::find_if(hits.begin(), hits.end(), [](const ScoredSlot& h) { return h.slot == 1; });
  ASSERT_NE(it, hits.end());
  EXPECT_NEAR(it->score, slot1, 1e-5);
}

TEST(Bm25Index, RepeatedQueryTermsCountTwice) {
  Bm25Index index = BuildCorpus(Params());
  std::vector<ScoredSlot> once = index.Search({"fig"}, 1, nullptr);
  std::vector<ScoredSlot> twice = index.Search({"fig", "fig"}, 1, nullptr);
  ASSERT_EQ(once.size(), 1u);
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_NEAR(twice[0].score, 2 * once[0].score, 1e-5);
}

TEST(Bm25Index, TitleTermsCountTitleBoostTimes) {
  Bm25Index boosted(Params(0.9f, 0.4f, 3.0f));
  boosted.Add({"refund"}, {"policy"});
  boosted.Add({}, {"refund", "refund", "refund", "policy"});
  boosted.Add({}, {"other"});
  // Both documents have tf(refund) = 3 and length 4, so they tie.
  std::vector<ScoredSlot> hits = boosted.Search({"refund"}, 10, nullptr);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_NEAR(hits[0].score, hits[1].score, 1e-6);
}

TEST(Bm25Index, UnknownTermsAndEmptyQueriesReturnNothing) {
  Bm25Index index = BuildCorpus(Params());
  EXPECT_TRUE(index.Search({"zebra"}, 10, nullptr).empty());
  EXPECT_TRUE(index.Search({}, 10, nullptr).empty());
  EXPECT_TRUE(index.Search({"apple"}, 0, nullptr).empty());
  EXPECT_TRUE(Bm25Index(Params()).Search({"apple"}, 10, nullptr).empty());
}

TEST(Bm25Index, KLimitsResults) {
  Bm25Index index = BuildCorpus(Params());
  std::vector<ScoredSlot> all = index.Search({"apple", "cherry"}, 10, nullptr);
  std::vector<ScoredSlot> top2 = index.Search({"apple", "cherry"}, 2, nullptr);
  ASSERT_EQ(top2.size(), 2u);
  EXPECT_EQ(top2[0].slot, all[0].slot);
  EXPECT_EQ(top2[1].slot, all[1].slot);
}

TEST(Bm25Index, RemoveExcludesSlotAndUpdatesStatistics) {
  const Bm25Params params = Params();
  Bm25Index index = BuildCorpus(params);
  EXPECT_EQ(index.live(), 5u);
  index.Remove(0);
  index.Remove(0);  // second call is a no-op
  index.Remove(99);  // unknown slot is ignored
  EXPECT_EQ(index.live(), 4u);
  EXPECT_EQ(index.slots(), 5u);
  EXPECT_FALSE(index.alive(0));
  EXPECT_TRUE(index.alive(1));

  // Statistics now cover slots 1..4 only: N = 4, df(apple) = 2, avg len = 11 / 4.
  std::vector<bool> live(kCorpus.size(), true);
  live[0] = false;
  const Terms query = {"apple"};
  std::vector<ScoredSlot> hits = index.Search(query, 10, nullptr);
  ASSERT_EQ(hits.size(), 2u);
  for (const ScoredSlot& h : hits) {
    EXPECT_NE(h.slot, 0u);
    EXPECT_NEAR(h.score, ReferenceBm25(kCorpus, live, query, h.slot, params.k1, params.b), 1e-5) << h.slot;
  }
  // "banana" survives only in slot 2.
  hits = index.Search({"banana"}, 10, nullptr);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].slot, 2u);
  EXPECT_NEAR(hits[0].score, ReferenceBm25(kCorpus, live, {"banana"}, 2, params.k1, params.b), 1e-5);
}

TEST(Bm25Index, AllowedFilterIsAppliedInsideTheSearch) {
  Bm25Index index(Params());
  // 20 strong matches (disallowed) followed by 8 weak matches (allowed).
  for (int i = 0; i < 20; ++i) index.Add({"refund"}, {"refund", "refund", "refund", "refund"});
  for (int i = 0; i < 8; ++i) index.Add({}, {"refund", "shipping", "carrier", "parcel", "label", "box"});
  std::vector<uint8_t> allowed(index.slots(), 0);
  for (uint32_t s = 20; s < 28; ++s) allowed[s] = 1;

  std::vector<ScoredSlot> unfiltered = index.Search({"refund"}, 5, nullptr);
  ASSERT_EQ(unfiltered.size(), 5u);
  for (const ScoredSlot& h : unfiltered) EXPECT_LT(h.slot, 20u);

  std::vector<ScoredSlot> hits = index.Search({"refund"}, 5, allowed.data());
  ASSERT_EQ(hits.size(), 5u);
  for (const ScoredSlot& h : hits) EXPECT_TRUE(allowed[h.slot]) << h.slot;

  // Fewer allowed matches than k: all of them, no more.
  std::fill(allowed.begin(), allowed.end(), 0);
  allowed[3] = allowed[25] = 1;
  hits = index.Search({"refund"}, 5, allowed.data());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].slot, 3u);
  EXPECT_EQ(hits[1].slot, 25u);
}

void ExpectSameResults(const Bm25Index& a, const Bm25Index& b, const std::vector<Terms>& queries) {
  for (const Terms& q : queries) {
    std::vector<ScoredSlot> ha = a.Search(q, 10, nullptr);
    std::vector<ScoredSlot> hb = b.Search(q, 10, nullptr);
    ASSERT_EQ(ha.size(), hb.size()) << q[0];
    for (size_t i = 0; i < ha.size(); ++i) {
      EXPECT_EQ(ha[i].slot, hb[i].slot);
      EXPECT_FLOAT_EQ(ha[i].score, hb[i].score);
    }
  }
}

TEST(Bm25Index, ContainsFindsTitleAndBodyTermsOfLiveSlotsOnly) {
  Bm25Index index(Params());
  uint32_t a = index.Add({"refund"}, {"card", "days"});
  uint32_t b = index.Add({}, {"shipping", "card"});
  EXPECT_TRUE(index.Contains("refund", a));
  EXPECT_TRUE(index.Contains("card", a));
  EXPECT_TRUE(index.Contains("card", b));
  EXPECT_FALSE(index.Contains("refund", b));
  EXPECT_FALSE(index.Contains("unknown", a));
  EXPECT_FALSE(index.Contains("card", 7));
  index.Remove(a);
  EXPECT_FALSE(index.Contains("card", a));
}

TEST(Bm25Index, SerializeRoundTripGivesIdenticalResults) {
  Bm25Index index = BuildCorpus(Params(1.1f, 0.6f, 2.0f));
  index.Add({"title", "apple"}, {"grape", "apple"});
  index.Remove(1);
  BinaryWriter w;
  index.Serialize(&w);

  Bm25Index copy;
  BinaryReader r(w.buffer());
  ASSERT_TRUE(copy.Deserialize(&r).ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(copy.params(), index.params());
  EXPECT_EQ(copy.slots(), index.slots());
  EXPECT_EQ(copy.live(), index.live());
  EXPECT_FALSE(copy.alive(1));
  const std::vector<Terms> queries = {{"apple"}, {"cherry", "banana"}, {"title"}, {"grape", "fig", "date"}};
  ExpectSameResults(index, copy, queries);

  // The copy keeps working: removing and adding behave like the original.
  index.Remove(0);
  copy.Remove(0);
  index.Add({}, {"apple", "kiwi"});
  copy.Add({}, {"apple", "kiwi"});
  ExpectSameResults(index, copy, {{"apple"}, {"kiwi"}, {"banana"}});
}

TEST(Bm25Index, TruncatedPayloadGivesCorruption) {
  Bm25Index index = BuildCorpus(Params());
  BinaryWriter w;
  index.Serialize(&w);
  const std::string& full = w.buffer();
  for (size_t len = 0; len < full.size(); ++len) {
    Bm25Index copy;
    BinaryReader r(std::string_view(full.data(), len));
    Status st = copy.Deserialize(&r);
    ASSERT_EQ(st.code(), StatusCode::kCorruption) << "prefix of " << len << " of " << full.size() << " bytes";
  }
}

TEST(Bm25Index, PostingForUnknownSlotGivesCorruption) {
  BinaryWriter w;
  w.Put(0.9f);
  w.Put(0.4f);
  w.Put(1.0f);
  w.Put<uint64_t>(1);  // one term
  w.PutString("apple");
  w.PutArray(std::vector<uint32_t>{7});  // slot 7 does not exist
  w.PutArray(std::vector<float>{1.0f});
  w.PutArray(std::vector<float>{1.0f});   // one document
  w.PutArray(std::vector<uint8_t>{1});
  Bm25Index index;
  BinaryReader r(w.buffer());
  EXPECT_EQ(index.Deserialize(&r).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace lathe::rag

namespace lathe::rag {
namespace {

TEST(Bm25Index, CompactKeepsScoresAndRenumbersLiveSlots) {
  Bm25Index index(Params(1.2f, 0.75f, 2.0f));
  std::vector<Terms> docs = {{"refund", "annual", "plan"}, {"shipping", "canada"}, {"refund", "monthly"},
                             {"reader", "battery"},         {"refund", "policy", "refund"}};
  for (const Terms& d : docs) index.Add({"title"}, d);
  index.Remove(1);
  index.Remove(3);
  std::vector<ScoredSlot> before = index.Search({"refund", "policy"}, 10, nullptr);
  std::vector<uint32_t> new_slot = {0, 0, 1, 0, 2};  // live slots 0, 2, 4 -> 0, 1, 2
  index.Compact(new_slot);
  EXPECT_EQ(index.slots(), 3u);
  EXPECT_EQ(index.live(), 3u);
  std::vector<ScoredSlot> after = index.Search({"refund", "policy"}, 10, nullptr);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].slot, new_slot[before[i].slot]);
    EXPECT_FLOAT_EQ(after[i].score, before[i].score);
  }
  // Still usable: add and remove after compaction.
  EXPECT_EQ(index.Add({}, {"refund"}), 3u);
  index.Remove(0);
  EXPECT_EQ(index.live(), 3u);
}

}  // namespace
}  // namespace lathe::rag
