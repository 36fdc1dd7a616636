// Tests for SplitSentences (ICU sentence breaks with abbreviation suppression).
#include "text/sentence_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lathe::text {
namespace {

using Sentences = std::vector<std::string>;

TEST(SentenceSplitter, SplitsOnTerminalPunctuation) {
  EXPECT_EQ(SplitSentences("Charge the reader. Pair it with the app! Is it ready? Yes."),
            (Sentences{"Charge the reader.", "Pair it with the app!", "Is it ready?", "Yes."}));
}

TEST(SentenceSplitter, AbbreviationsDoNotSplit) {
  EXPECT_EQ(SplitSentences("Use a charger, e.g. A phone charger works. Then wait."),
            (Sentences{"Use a charger, e.g. A phone charger works.", "Then wait."}));
  EXPECT_EQ(SplitSentences("Ask Dr. Smith about it. He knows."),
            (Sentences{"Ask Dr. Smith about it.", "He knows."}));
  EXPECT_EQ(SplitSentences("Send it to Mr. Jones today."), (Sentences{"Send it to Mr. Jones today."}));
  EXPECT_EQ(SplitSentences("Pick one plan, i.e. Pro or Basic. Then pay."),
            (Sentences{"Pick one plan, i.e. Pro or Basic.", "Then pay."}));
  // A lower-case word after an abbreviation never starts a sentence.
  EXPECT_EQ(SplitSentences("Any charger, e.g. a phone charger, works."),
            (Sentences{"Any charger, e.g. a phone charger, works."}));
}

TEST(SentenceSplitter, DecimalNumbersDoNotSplit) {
  EXPECT_EQ(SplitSentences("It costs 4.99 per month. Cancel any time."),
            (Sentences{"It costs 4.99 per month.", "Cancel any time."}));
}

TEST(SentenceSplitter, EmptyAndBlankInputGiveNoSentences) {
  EXPECT_TRUE(SplitSentences("").empty());
  EXPECT_TRUE(SplitSentences("   \n\t  ").empty());
}

TEST(SentenceSplitter, TrimsWhitespaceAndKeepsUnterminatedTail) {
  EXPECT_EQ(SplitSentences("  First one.   \n  second without a stop  "),
            (Sentences{"First one.", "second without a stop"}));
}

TEST(SentenceSplitter, HandlesNonAsciiText) {
  EXPECT_EQ(SplitSentences("Le café est fermé. Revenez demain."),
            (Sentences{"Le café est fermé.", "Revenez demain."}));
}

}  // namespace
}  // namespace lathe::text
