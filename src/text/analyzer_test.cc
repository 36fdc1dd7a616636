// Tests for the Analyzer (tokenising, case folding, stop words, stemming) and
// the UTF-8 helpers.
#include "text/analyzer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lathe::text {
namespace {

using Terms = std::vector<std::string>;

Analyzer FoldOnly() { return Analyzer(AnalyzerOptions{/*stem=*/false, /*remove_stop_words=*/false, 64}); }

struct FoldCase {
  const char* input;
  Terms expected;
};

TEST(Analyzer, FoldsCaseIncludingNonAscii) {
  const FoldCase cases[] = {
      {"Hello WORLD", {"hello", "world"}},
      {"CAFÉ", {"café"}},
      {"Café café CAFÉ", {"café", "café", "café"}},
      {"DÉJÀ VU", {"déjà", "vu"}},
      {"ÅNGSTRÖM", {"ångström"}},
      {"МОСКВА", {"москва"}},
      {"ΑΘΗΝΑ", {"αθηνα"}},
      {"Q2 USB-C", {"q2", "usb", "c"}},
  };
  Analyzer analyzer = FoldOnly();
  for (const FoldCase& c : cases) {
    EXPECT_EQ(analyzer.Analyze(c.input), c.expected) << c.input;
  }
}

TEST(Analyzer, CombiningMarksStayInsideTheWord) {
  // "cafe" + U+0301 COMBINING ACUTE ACCENT is one token, not "cafe" and a separator.
  Terms terms = FoldOnly().Analyze("CAFE\xCC\x81 au lait");
  ASSERT_EQ(terms.size(), 3u);
  EXPECT_EQ(terms[0], "cafe\xCC\x81");
}

TEST(Analyzer, StemsEnglishWords) {
  Analyzer analyzer;
  EXPECT_EQ(analyzer.Analyze("refunds"), Terms{"refund"});
  EXPECT_EQ(analyzer.Analyze("Refunded"), Terms{"refund"});
  EXPECT_EQ(analyzer.Analyze("refunding"), Terms{"refund"});
  EXPECT_EQ(analyzer.Analyze("charging chargers"), (Terms{"charg", "charger"}));
}

TEST(Analyzer, RemovesStopWords) {
  Analyzer analyzer;
  EXPECT_EQ(analyzer.Analyze("The refund of an order is in the queue"), (Terms{"refund", "order", "queue"}));
  EXPECT_TRUE(Analyzer::IsStopWord("the"));
  EXPECT_FALSE(Analyzer::IsStopWord("refund"));
  // Stop words are matched after folding.
  EXPECT_TRUE(analyzer.Analyze("THE AND OF").empty());
}

TEST(Analyzer, OptionsDisableStemmingAndStopWords) {
  Analyzer keep_all(AnalyzerOptions{/*stem=*/false, /*remove_stop_words=*/false, 64});
  EXPECT_EQ(keep_all.Analyze("The refunds"), (Terms{"the", "refunds"}));
  Analyzer no_stem(AnalyzerOptions{/*stem=*/false, /*remove_stop_words=*/true, 64});
  EXPECT_EQ(no_stem.Analyze("The refunds"), Terms{"refunds"});
}

TEST(Analyzer, SkipsOverlongTokens) {
  Analyzer analyzer(AnalyzerOptions{false, false, 8});
  EXPECT_EQ(analyzer.Analyze("short 0123456789abcdef tail"), (Terms{"short", "tail"}));
  EXPECT_EQ(analyzer.Analyze("exactly8"), Terms{"exactly8"});
}

TEST(Analyzer, InvalidUtf8BytesActAsSeparators) {
  Analyzer analyzer = FoldOnly();
  EXPECT_EQ(analyzer.Analyze("abc\xFF" "def"), (Terms{"abc", "def"}));
  EXPECT_EQ(analyzer.Analyze("abc\xC3"), Terms{"abc"});              // truncated sequence at the end
  EXPECT_EQ(analyzer.Analyze("one\xE2\x82two"), (Terms{"one", "two"}));  // truncated 3-byte sequence
  EXPECT_EQ(analyzer.Analyze("x\xC0\xAFy"), (Terms{"x", "y"}));        // overlong encoding of '/'
  EXPECT_EQ(analyzer.Analyze("a\xED\xA0\x80" "b"), (Terms{"a", "b"}));  // UTF-16 surrogate
  EXPECT_TRUE(analyzer.Analyze("\xFF\xFE\xFD\x80\x80").empty());
}

TEST(Analyzer, SurvivesEveryByteValue) {
  std::string all;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  }
  Analyzer analyzer;
  Terms terms = analyzer.Analyze(all);
  for (const std::string& t : terms) EXPECT_TRUE(IsValidUtf8(t)) << t;
  EXPECT_GT(Analyzer::CountWords(all), 0u);
}

TEST(Analyzer, AppendsToExistingTerms) {
  Analyzer analyzer;
  Terms out = {"first"};
  analyzer.Analyze("refunds", &out);
  EXPECT_EQ(out, (Terms{"first", "refund"}));
}

TEST(Analyzer, CountWordsCountsLetterAndDigitRuns) {
  EXPECT_EQ(Analyzer::CountWords(""), 0u);
  EXPECT_EQ(Analyzer::CountWords("  ,,, !!"), 0u);
  EXPECT_EQ(Analyzer::CountWords("Hello, world! 42"), 3u);
  EXPECT_EQ(Analyzer::CountWords("the and of"), 3u);  // stop words still count
  EXPECT_EQ(Analyzer::CountWords("USB-C cable"), 3u);
}

TEST(Utf8, IsValidUtf8) {
  struct Case {
    std::string text;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"café déjà vu", true},
      {"\xE2\x82\xAC", true},       // euro sign
      {"\xF0\x9F\x98\x80", true},   // emoji (4 bytes)
      {std::string("a\0b", 3), true},
      {"\xFF", false},
      {"abc\xC3", false},           // truncated
      {"\xC0\xAF", false},          // overlong
      {"\xED\xA0\x80", false},      // surrogate
      {"\xF4\x90\x80\x80", false},  // above U+10FFFF
      {"\x80", false},              // lone continuation byte
  };
  for (const Case& c : cases) EXPECT_EQ(IsValidUtf8(c.text), c.valid) << testing::PrintToString(c.text);
}

TEST(Utf8, SanitizeReplacesInvalidSequences) {
  EXPECT_EQ(SanitizeUtf8("café"), "café");
  EXPECT_EQ(SanitizeUtf8(""), "");
  EXPECT_EQ(SanitizeUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("end\xC3"), "end\xEF\xBF\xBD");
  std::string garbage;
  for (int b = 0; b < 256; ++b) garbage.push_back(static_cast<char>(b));
  std::string clean = SanitizeUtf8(garbage);
  EXPECT_TRUE(IsValidUtf8(clean));
  EXPECT_NE(clean.find("\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace lathe::text
