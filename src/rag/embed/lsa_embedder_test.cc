// Tests for the LsaEmbedder (training, topic separation, determinism,
// persistence, damage) and the HashingEmbedder.
#include "rag/embed/lsa_embedder.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "rag/embed/hashing_embedder.h"

namespace lathe::rag {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

// 40 short texts: 20 about billing, 20 about card-reader hardware. Each picks
// four words from its topic's vocabulary, so topic words co-occur often.
const std::vector<std::string> kBilling = {"refund", "invoice", "payment", "charge",
                                           "subscription", "receipt", "billing", "credit"};
const std::vector<std::string> kHardware = {"reader", "battery", "adapter", "cable",
                                            "firmware", "bluetooth", "device", "screen"};

std::string TopicText(const std::vector<std::string>& vocab, int i) {
  return "The " + vocab[i % 8] + " and the " + vocab[(i + 1) % 8] + " need a " + vocab[(i * 3 + 2) % 8] +
         " with " + vocab[(i * 5 + 3) % 8] + ".";
}

std::vector<std::string> TrainingTexts() {
  std::vector<std::string> texts;
  for (int i = 0; i < 20; ++i) {
    texts.push_back(TopicText(kBilling, i));
    texts.push_back(TopicText(kHardware, i));
  }
  return texts;
}

LsaOptions SmallOptions() {
  LsaOptions options;
  options.dim = 8;
  return options;
}

std::vector<float> EmbedAll(const Embedder& embedder, const std::vector<std::string>& texts) {
  std::vector<float> out(texts.size() * static_cast<size_t>(embedder.dim()));
  EXPECT_TRUE(embedder.Embed(texts, false, out.data()).ok());
  return out;
}

float Dot(const float* a, const float* b, int dim) {
  float s = 0;
  for (int i = 0; i < dim; ++i) s += a[i] * b[i];
  return s;
}

TEST(LsaEmbedder, SameTopicEmbedsCloserThanOtherTopic) {
  auto model = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const LsaEmbedder& lsa = *model.value();
  EXPECT_GT(lsa.dim(), 0);
  EXPECT_LE(lsa.dim(), 8);
  EXPECT_EQ(lsa.trained_on(), 40u);
  EXPECT_EQ(lsa.vocabulary(), 16u);

  // Held-out texts that reuse topic words in new combinations.
  const std::vector<std::string> probes = {
      "refund my credit card payment", "where is the invoice receipt", "billing charge on my subscription",
      "the reader battery is flat and the cable is loose", "bluetooth device firmware update",
      "screen of the reader adapter"};
  std::vector<float> v = EmbedAll(lsa, probes);
  const int d = lsa.dim();
  for (int a = 0; a < 6; ++a) {
    for (int b = 0; b < 6; ++b) {
      if (a == b) continue;
      const bool same_a = (a < 3), same_b = (b < 3);
      if (same_a != same_b) continue;
      // Every same-topic pair is closer than every cross-topic pair involving a.
      for (int c = 0; c < 6; ++c) {
        if ((c < 3) == same_a) continue;
        EXPECT_GT(Dot(&v[a * d], &v[b * d], d), Dot(&v[a * d], &v[c * d], d))
            << "'" << probes[a] << "' vs '" << probes[b] << "' / '" << probes[c] << "'";
      }
    }
  }
}

TEST(LsaEmbedder, VectorsAreUnitLength) {
  auto model = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  ASSERT_TRUE(model.ok());
  std::vector<std::string> texts = TrainingTexts();
  texts.push_back("refund");
  std::vector<float> v = EmbedAll(*model.value(), texts);
  const int d = model.value()->dim();
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_NEAR(Dot(&v[i * d], &v[i * d], d), 1.0f, 1e-4) << texts[i];
  }
}

TEST(LsaEmbedder, TrainingIsDeterministic) {
  CpuPool pool(2);
  auto a = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  auto b = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), &pool);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.value()->id(), b.value()->id());
  EXPECT_EQ(a.value()->id().rfind("lsa-v1-d", 0), 0u) << a.value()->id();
  const std::vector<std::string> probe = {"refund the invoice", "battery cable"};
  EXPECT_EQ(EmbedAll(*a.value(), probe), EmbedAll(*b.value(), probe));
}

TEST(LsaEmbedder, EmbedAnalyzedMatchesEmbeddingTheText) {
  auto model = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  ASSERT_TRUE(model.ok());
  text::Analyzer analyzer;
  const int d = model.value()->dim();
  const std::vector<std::pair<std::string, std::string>> chunks = {
      {"Billing FAQ", "The refund and the invoice need a payment with credit."},
      {"", "Battery, cable and firmware: the reader's screen."},
      {"Refunds", "words the model never saw"}};
  for (const auto& [title, body] : chunks) {
    std::vector<float> from_text(static_cast<size_t>(d)), from_terms(static_cast<size_t>(d));
    ASSERT_TRUE(model.value()->Embed({EmbeddingText(title, body)}, false, from_text.data()).ok());
    ASSERT_TRUE(model.value()->EmbedAnalyzed(analyzer.Analyze(title), analyzer.Analyze(body), from_terms.data()));
    EXPECT_EQ(from_terms, from_text) << title;  // bit for bit: ingestion and rebuilds must agree
  }
  HashingEmbedder hashing;
  std::vector<float> unused(static_cast<size_t>(hashing.dim()));
  EXPECT_FALSE(hashing.EmbedAnalyzed({"refund"}, {}, unused.data()));
}

TEST(LsaEmbedder, SaveLoadRoundTripGivesIdenticalEmbeddings) {
  TempDir dir;
  const std::string path = dir.path() + "/models/collection-1.lsa";
  auto trained = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  ASSERT_TRUE(trained.ok());
  ASSERT_TRUE(trained.value()->Save(path).ok());

  auto loaded = LsaEmbedder::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded.value()->id(), trained.value()->id());
  EXPECT_EQ(loaded.value()->dim(), trained.value()->dim());
  EXPECT_EQ(loaded.value()->vocabulary(), trained.value()->vocabulary());
  EXPECT_EQ(loaded.value()->trained_on(), trained.value()->trained_on());
  std::vector<std::string> probe = TrainingTexts();
  probe.push_back("words the model never saw");
  EXPECT_EQ(EmbedAll(*loaded.value(), probe), EmbedAll(*trained.value(), probe));
}

TEST(LsaEmbedder, DamagedModelFileGivesCorruption) {
  TempDir dir;
  const std::string path = dir.path() + "/model.lsa";
  auto trained = LsaEmbedder::Train(TrainingTexts(), SmallOptions(), nullptr);
  ASSERT_TRUE(trained.ok());
  ASSERT_TRUE(trained.value()->Save(path).ok());
  const std::string bytes = ReadFile(path).value();

  auto write = [&](const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  write(flipped);
  EXPECT_EQ(LsaEmbedder::Load(path).status().code(), StatusCode::kCorruption);

  write(bytes.substr(0, bytes.size() / 3));
  EXPECT_EQ(LsaEmbedder::Load(path).status().code(), StatusCode::kCorruption);

  write("not a model at all");
  EXPECT_EQ(LsaEmbedder::Load(path).status().code(), StatusCode::kCorruption);

  EXPECT_EQ(LsaEmbedder::Load(dir.path() + "/missing.lsa").status().code(), StatusCode::kNotFound);
}

TEST(LsaEmbedder, TooLittleTextGivesInvalidArgument) {
  struct Case {
    const char* what;
    std::vector<std::string> texts;
  };
  const Case cases[] = {
      {"no texts", {}},
      {"one text", {"refund invoice payment refund invoice"}},
      {"no shared terms", {"refund invoice", "battery cable", "bluetooth screen"}},
      {"only stop words", {"the and of", "the and of", "a an the"}},
  };
  for (const Case& c : cases) {
    auto model = LsaEmbedder::Train(c.texts, SmallOptions(), nullptr);
    ASSERT_FALSE(model.ok()) << c.what;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_FALSE(model.status().message().empty());
  }
}

// ---- HashingEmbedder ------------------------------------------------------------

TEST(HashingEmbedder, VectorsAreUnitLengthAndDeterministic) {
  HashingEmbedderOptions options;
  options.dim = 128;
  HashingEmbedder a(options), b(options);
  EXPECT_EQ(a.dim(), 128);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_NE(a.id().find("d128"), std::string::npos) << a.id();
  const std::vector<std::string> texts = {"Refund policy for annual plans", "Charging the card reader",
                                          "café déjà vu", "x"};
  std::vector<float> va = EmbedAll(a, texts);
  std::vector<float> vb = EmbedAll(b, texts);
  EXPECT_EQ(va, vb);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_NEAR(Dot(&va[i * 128], &va[i * 128], 128), 1.0f, 1e-5) << texts[i];
  }
  // Embedding one at a time gives the same rows as a batch.
  std::vector<float> one(128);
  a.EmbedOne(texts[1], one.data());
  EXPECT_EQ(one, std::vector<float>(va.begin() + 128, va.begin() + 256));
}

TEST(HashingEmbedder, SharedWordsAndMorphologyPullTextsTogether) {
  HashingEmbedder embedder;
  const int d = embedder.dim();
  std::vector<float> v = EmbedAll(embedder, {"how do I get a refund", "refunds are paid in five days",
                                             "bluetooth pairing fails on the reader"});
  EXPECT_GT(Dot(&v[0], &v[d], d), Dot(&v[0], &v[2 * d], d));
  EXPECT_GT(Dot(&v[0], &v[d], d), 0.1f);
}

TEST(HashingEmbedder, SettingsChangeTheId) {
  HashingEmbedderOptions other;
  other.bigram_weight = 0.0f;
  EXPECT_NE(HashingEmbedder().id(), HashingEmbedder(other).id());
}

TEST(MakeStatelessEmbedder, BuildsHashAndRejectsOthers) {
  EmbedderOptions options;
  options.kind = "hash";
  options.dim = 64;
  auto made = MakeStatelessEmbedder(options);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made.value()->dim(), 64);
  options.dim = 4;
  EXPECT_EQ(MakeStatelessEmbedder(options).status().code(), StatusCode::kInvalidArgument);
  options.kind = "lsa";
  options.dim = 64;
  EXPECT_EQ(MakeStatelessEmbedder(options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lathe::rag
