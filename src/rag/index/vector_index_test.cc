// Tests for VectorIndex: exact (flat) and IVF search, recall, filters and
// removed slots inside the search, and the serialised form.
#include "rag/index/vector_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

namespace lathe::rag {
namespace {

constexpr int kDim = 32;
constexpr size_t kVectors = 500;

// n unit vectors of kDim floats, row-major, from a seeded generator.
std::vector<float> RandomUnitVectors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    float* v = out.data() + i * kDim;
    double norm = 0;
    for (int d = 0; d < kDim; ++d) {
      v[d] = normal(rng);
      norm += double(v[d]) * v[d];
    }
    for (int d = 0; d < kDim; ++d) v[d] = static_cast<float>(v[d] / std::sqrt(norm));
  }
  return out;
}

VectorIndexOptions SmallIvfOptions() {
  VectorIndexOptions options;
  options.ann_threshold = 100;
  return options;
}

VectorIndex BuildIndex(const std::vector<float>& data, VectorIndexOptions options = {}) {
  VectorIndex index(kDim, options);
  index.Add(data.data(), data.size() / kDim);
  index.Optimize();
  return index;
}

std::vector<uint32_t> Slots(const std::vector<ScoredSlot>& hits) {
  std::vector<uint32_t> out;
  for (const ScoredSlot& h : hits) out.push_back(h.slot);
  return out;
}

TEST(VectorIndex, FlatSearchEqualsExactSearch) {
  std::vector<float> data = RandomUnitVectors(kVectors, 1);
  VectorIndex index = BuildIndex(data);
  ASSERT_FALSE(index.is_approximate());
  EXPECT_EQ(index.slots(), kVectors);
  EXPECT_EQ(index.live(), kVectors);
  std::vector<float> queries = RandomUnitVectors(20, 2);
  for (size_t q = 0; q < 20; ++q) {
    const float* query = queries.data() + q * kDim;
    std::vector<ScoredSlot> got = index.Search(query, 10, nullptr);
    std::vector<ScoredSlot> exact = index.SearchExact(query, 10, nullptr);
    ASSERT_EQ(got.size(), 10u);
    EXPECT_EQ(Slots(got), Slots(exact)) << "query " << q;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].score, exact[i].score, 1e-4);
    for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].score, got[i].score);
  }
}

TEST(VectorIndex, StoredVectorIsItsOwnNearestNeighbour) {
  std::vector<float> data = RandomUnitVectors(kVectors, 3);
  for (VectorIndexOptions options : {VectorIndexOptions{}, SmallIvfOptions()}) {
    VectorIndex index = BuildIndex(data, options);
    for (uint32_t slot : {0u, 17u, 499u}) {
      std::vector<ScoredSlot> hits = index.Search(data.data() + slot * kDim, 1, nullptr);
      ASSERT_EQ(hits.size(), 1u);
      EXPECT_EQ(hits[0].slot, slot);
      EXPECT_NEAR(hits[0].score, 1.0f, 1e-4);
      EXPECT_EQ(std::vector<float>(index.vector(slot), index.vector(slot) + kDim),
                std::vector<float>(data.begin() + slot * kDim, data.begin() + (slot + 1) * kDim));
    }
  }
}

TEST(VectorIndex, IvfRecallAgainstExactSearchGrowsWithNprobe) {
  std::vector<float> data = RandomUnitVectors(kVectors, 4);
  VectorIndex index = BuildIndex(data, SmallIvfOptions());
  ASSERT_TRUE(index.is_approximate());
  const int nlist = static_cast<int>(index.nlist());
  ASSERT_GT(nlist, 3);
  std::vector<float> queries = RandomUnitVectors(50, 5);
  auto recall_at = [&](int nprobe) {
    index.set_nprobe(nprobe);
    size_t found = 0, total = 0;
    for (size_t q = 0; q < 50; ++q) {
      const float* query = queries.data() + q * kDim;
      std::vector<uint32_t> exact = Slots(index.SearchExact(query, 10, nullptr));
      std::vector<uint32_t> approx = Slots(index.Search(query, 10, nullptr));
      EXPECT_EQ(approx.size(), 10u);
      std::set<uint32_t> truth(exact.begin(), exact.end());
      for (uint32_t s : approx) found += truth.count(s);
      total += exact.size();
    }
    return static_cast<double>(found) / static_cast<double>(total);
  };
  double one = recall_at(1), some = recall_at(nlist / 3), all = recall_at(nlist);
  std::printf("IVF recall@10 (500 random vectors, dim 32, nlist %d): nprobe 1: %.3f, %d: %.3f, all: %.3f\n", nlist,
              one, nlist / 3, some, all);
  RecordProperty("recall_at_10_nprobe_1", std::to_string(one));
  EXPECT_GE(some, one);
  EXPECT_DOUBLE_EQ(all, 1.0);  // visiting every cell is exact search
  EXPECT_LT(one, 1.0);         // one cell of random data misses neighbours: the index really is approximate
}

TEST(VectorIndex, StaysFlatUntilThresholdPassed) {
  std::vector<float> data = RandomUnitVectors(100, 6);
  VectorIndex index = BuildIndex(data, SmallIvfOptions());  // 100 is not above 100
  EXPECT_FALSE(index.is_approximate());
  std::vector<float> more = RandomUnitVectors(1, 7);
  index.Add(more.data(), 1);
  EXPECT_FALSE(index.is_approximate());  // only Optimize switches
  index.Optimize();
  EXPECT_TRUE(index.is_approximate());
  EXPECT_EQ(index.slots(), 101u);
}

// Checks that a filtered search returns min(k, allowed live) slots, all
// allowed and live, and that they are the exact top results.
void CheckFiltered(const VectorIndex& index, const float* query, size_t k, const std::vector<uint8_t>& allowed,
                   const std::set<uint32_t>& removed, const char* what) {
  size_t eligible = 0;
  for (size_t s = 0; s < allowed.size(); ++s) eligible += allowed[s] && !removed.count(static_cast<uint32_t>(s));
  std::vector<ScoredSlot> hits = index.Search(query, k, allowed.data());
  ASSERT_EQ(hits.size(), std::min(k, eligible)) << what;
  for (const ScoredSlot& h : hits) {
    EXPECT_TRUE(allowed[h.slot]) << what << ": slot " << h.slot << " is filtered out";
    EXPECT_FALSE(removed.count(h.slot)) << what << ": slot " << h.slot << " was removed";
  }
  std::vector<ScoredSlot> exact = index.SearchExact(query, k, allowed.data());
  ASSERT_EQ(exact.size(), hits.size());
  for (const ScoredSlot& h : exact) {
    EXPECT_TRUE(allowed[h.slot]);
    EXPECT_FALSE(removed.count(h.slot));
  }
}

TEST(VectorIndex, FiltersAndRemovedSlotsAreNeverReturned) {
  std::vector<float> data = RandomUnitVectors(kVectors, 8);
  std::vector<float> queries = RandomUnitVectors(10, 9);
  for (VectorIndexOptions options : {VectorIndexOptions{}, SmallIvfOptions()}) {
    VectorIndex index = BuildIndex(data, options);
    const char* kind = index.is_approximate() ? "ivf" : "flat";
    // Remove the exact top 20 of the first query, and every 9th slot.
    std::set<uint32_t> removed;
    for (const ScoredSlot& h : index.SearchExact(queries.data(), 20, nullptr)) removed.insert(h.slot);
    for (uint32_t s = 0; s < kVectors; s += 9) removed.insert(s);
    for (uint32_t s : removed) index.Remove(s);
    index.Remove(*removed.begin());  // a second removal is a no-op
    EXPECT_EQ(index.live(), kVectors - removed.size());

    std::vector<uint8_t> all(kVectors, 1);
    std::vector<uint8_t> half(kVectors, 0), sparse(kVectors, 0), tiny(kVectors, 0), few(kVectors, 0);
    for (size_t s = 0; s < kVectors; s += 2) half[s] = 1;
    for (size_t s = 0; s < kVectors; s += 16) sparse[s] = 1;  // about 6%: graph search with a selector
    for (size_t s = 5; s < kVectors; s += 50) tiny[s] = 1;     // 2%: exact fallback
    for (size_t s : {11u, 12u, 13u}) few[s] = 1;               // fewer than k
    for (size_t q = 0; q < 10; ++q) {
      const float* query = queries.data() + q * kDim;
      // No filter: removed slots alone are excluded.
      std::vector<ScoredSlot> hits = index.Search(query, 10, nullptr);
      ASSERT_EQ(hits.size(), 10u) << kind;
      for (const ScoredSlot& h : hits) EXPECT_FALSE(removed.count(h.slot)) << kind;
      CheckFiltered(index, query, 10, all, removed, kind);
      CheckFiltered(index, query, 10, half, removed, kind);
      CheckFiltered(index, query, 10, sparse, removed, kind);
      CheckFiltered(index, query, 10, tiny, removed, kind);
      CheckFiltered(index, query, 10, few, removed, kind);
    }
  }
}

// With a short search queue the filtered graph walk gives up early; the index
// must still return k allowed slots when k exist.
TEST(VectorIndex, FilteredIvfSearchWithOneProbeStillReturnsK) {
  std::vector<float> data = RandomUnitVectors(kVectors, 14);
  VectorIndex index = BuildIndex(data, SmallIvfOptions());
  ASSERT_TRUE(index.is_approximate());
  index.set_nprobe(1);
  std::vector<uint8_t> sparse(kVectors, 0);
  for (size_t s = 0; s < kVectors; s += 16) sparse[s] = 1;  // above exact_filter_fraction
  std::vector<float> queries = RandomUnitVectors(30, 15);
  for (size_t q = 0; q < 30; ++q) {
    CheckFiltered(index, queries.data() + q * kDim, 10, sparse, {}, "ivf nprobe=1");
  }
}

TEST(VectorIndex, FilterAllowingNothingReturnsNothing) {
  std::vector<float> data = RandomUnitVectors(kVectors, 10);
  for (VectorIndexOptions options : {VectorIndexOptions{}, SmallIvfOptions()}) {
    VectorIndex index = BuildIndex(data, options);
    std::vector<uint8_t> none(kVectors, 0);
    EXPECT_TRUE(index.Search(data.data(), 10, none.data()).empty());
    EXPECT_TRUE(index.Search(data.data(), 0, nullptr).empty());
  }
  VectorIndex empty(kDim);
  EXPECT_TRUE(empty.Search(data.data(), 10, nullptr).empty());
}

void ExpectSameSearches(const VectorIndex& a, const VectorIndex& b, const std::vector<uint8_t>* allowed) {
  std::vector<float> queries = RandomUnitVectors(20, 11);
  for (size_t q = 0; q < 20; ++q) {
    const float* query = queries.data() + q * kDim;
    const uint8_t* filter = allowed ? allowed->data() : nullptr;
    std::vector<ScoredSlot> ha = a.Search(query, 10, filter);
    std::vector<ScoredSlot> hb = b.Search(query, 10, filter);
    ASSERT_EQ(Slots(ha), Slots(hb)) << "query " << q;
    for (size_t i = 0; i < ha.size(); ++i) EXPECT_FLOAT_EQ(ha[i].score, hb[i].score);
  }
}

// The serialised bytes: the writer references the vectors instead of copying.
std::string Bytes(const BinaryWriter& w) {
  std::string out;
  for (std::string_view piece : w.pieces()) out.append(piece);
  return out;
}

TEST(VectorIndex, SerializeRoundTripFlatAndIvf) {
  std::vector<float> data = RandomUnitVectors(kVectors, 12);
  for (VectorIndexOptions options : {VectorIndexOptions{}, SmallIvfOptions()}) {
    VectorIndex index = BuildIndex(data, options);
    for (uint32_t s = 3; s < kVectors; s += 7) index.Remove(s);
    BinaryWriter w;
    index.Serialize(&w);

    std::string bytes = Bytes(w);
    VectorIndex copy(kDim, options);
    BinaryReader r(bytes);
    Status st = copy.Deserialize(&r);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(copy.is_approximate(), index.is_approximate());
    EXPECT_EQ(copy.nlist(), index.nlist());
    EXPECT_EQ(copy.slots(), index.slots());
    EXPECT_EQ(copy.live(), index.live());
    ExpectSameSearches(index, copy, nullptr);
    std::vector<uint8_t> odd(kVectors, 0);
    for (size_t s = 1; s < kVectors; s += 2) odd[s] = 1;
    ExpectSameSearches(index, copy, &odd);
  }
}

TEST(VectorIndex, DeserializeRejectsDamage) {
  std::vector<float> data = RandomUnitVectors(50, 13);
  VectorIndex index = BuildIndex(data);
  BinaryWriter w;
  index.Serialize(&w);
  const std::string full = Bytes(w);

  VectorIndex other_dim(kDim * 2);
  BinaryReader r1(full);
  EXPECT_EQ(other_dim.Deserialize(&r1).code(), StatusCode::kCorruption);

  for (size_t len : {size_t{0}, size_t{3}, size_t{20}, full.size() / 2, full.size() - 1}) {
    VectorIndex copy(kDim);
    BinaryReader r(std::string_view(full.data(), len));
    EXPECT_EQ(copy.Deserialize(&r).code(), StatusCode::kCorruption) << len;
  }
}

}  // namespace
}  // namespace lathe::rag

namespace lathe::rag {
namespace {

TEST(VectorIndex, CompactDropsRemovedSlotsFlatAndIvf) {
  std::vector<float> data = RandomUnitVectors(kVectors, 21);
  for (VectorIndexOptions options : {VectorIndexOptions{}, SmallIvfOptions()}) {
    VectorIndex index = BuildIndex(data, options);
    for (uint32_t s = 0; s < kVectors; s += 2) index.Remove(s);  // drop the even slots
    index.Compact();
    EXPECT_EQ(index.slots(), kVectors / 2);
    EXPECT_EQ(index.live(), kVectors / 2);
    for (uint32_t s = 0; s < kVectors / 2; ++s) {
      const float* expected = data.data() + (2 * s + 1) * kDim;
      ASSERT_EQ(std::vector<float>(index.vector(s), index.vector(s) + kDim),
                std::vector<float>(expected, expected + kDim));
    }
    // Each surviving vector is its own nearest neighbour under its new slot.
    index.set_nprobe(1000);
    for (uint32_t s = 0; s < kVectors / 2; s += 25) {
      std::vector<ScoredSlot> hits = index.Search(index.vector(s), 1, nullptr);
      ASSERT_EQ(hits.size(), 1u);
      EXPECT_EQ(hits[0].slot, s);
    }
  }
}

}  // namespace
}  // namespace lathe::rag
