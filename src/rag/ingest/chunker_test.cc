// Tests for ChunkDocument: section boundaries, heading-path titles, the word
// budget, whole tables and code, sentence-boundary splits with overlap.
#include "rag/ingest/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "text/analyzer.h"
#include "text/sentence_splitter.h"

namespace lathe::rag {
namespace {

using Kind = Block::Kind;

Block Heading(int level, std::string text) { return Block{Kind::kHeading, level, std::move(text)}; }
Block Paragraph(std::string text) { return Block{Kind::kParagraph, 0, std::move(text)}; }
Block Table(std::string text) { return Block{Kind::kTable, 0, std::move(text)}; }
Block Code(std::string text) { return Block{Kind::kCode, 0, std::move(text)}; }
Block Item(std::string text) { return Block{Kind::kListItem, 0, std::move(text)}; }

ParsedDocument Doc(std::string title, std::vector<Block> blocks) {
  ParsedDocument doc;
  doc.id = "doc.md";
  doc.title = std::move(title);
  doc.blocks = std::move(blocks);
  return doc;
}

size_t Words(const std::string& s) { return text::Analyzer::CountWords(s); }

// "Sentence <n> w w w ... ." with exactly `words` words (the label counts as two).
std::string MakeSentence(int n, size_t words) {
  std::string s = "Sentence s" + std::to_string(n);
  for (size_t i = 2; i < words; ++i) s += " w" + std::to_string(i);
  return s + ".";
}

// Like MakeSentence, but some words are hyphenated pairs ("usb-c": two words).
std::string MakeHyphenatedSentence(int n, size_t words, std::mt19937* rng) {
  std::string s = "Sentence s" + std::to_string(n);
  for (size_t i = 2; i < words; ++i) {
    if (i + 1 < words && (*rng)() % 3 == 0) {
      s += " usb-c" + std::to_string(i);
      ++i;
    } else {
      s += " w" + std::to_string(i);
    }
  }
  return s + ".";
}

TEST(Chunker, SplitsOnHeadingsBeforeSize) {
  ParsedDocument doc = Doc("Doc", {Heading(1, "Doc"), Paragraph("Intro text."), Heading(2, "Section"),
                                   Paragraph("Section text."), Heading(3, "Sub"), Paragraph("Sub text."),
                                   Heading(2, "Other"), Paragraph("Other text.")});
  std::vector<Chunk> chunks = ChunkDocument(doc);  // everything would fit in one 200-word chunk
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].title, "Doc");
  EXPECT_EQ(chunks[0].text, "Intro text.");
  EXPECT_EQ(chunks[1].title, "Doc > Section");
  EXPECT_EQ(chunks[1].text, "Section text.");
  EXPECT_EQ(chunks[2].title, "Doc > Section > Sub");
  EXPECT_EQ(chunks[2].text, "Sub text.");
  // A heading of the same level replaces its sibling and drops deeper levels.
  EXPECT_EQ(chunks[3].title, "Doc > Other");
  EXPECT_EQ(chunks[3].text, "Other text.");
}

TEST(Chunker, HeadingsWithoutBodyProduceNoChunk) {
  ParsedDocument doc = Doc("Doc", {Heading(2, "Empty section"), Heading(2, "Full"), Paragraph("Body.")});
  std::vector<Chunk> chunks = ChunkDocument(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].title, "Doc > Full");
}

TEST(Chunker, UntitledDocumentFallsBackToId) {
  ParsedDocument doc = Doc("", {Heading(2, "Part"), Paragraph("Body.")});
  std::vector<Chunk> chunks = ChunkDocument(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].title, "doc.md > Part");
}

TEST(Chunker, SmallBlocksOfASectionShareAChunk) {
  ParsedDocument doc = Doc("Doc", {Paragraph("First paragraph."), Item("an item"), Paragraph("Second paragraph.")});
  std::vector<Chunk> chunks = ChunkDocument(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "First paragraph.\n\n- an item\n\nSecond paragraph.");
}

TEST(Chunker, EmptyDocumentWithTitleYieldsOneChunk) {
  std::vector<Chunk> chunks = ChunkDocument(Doc("Lonely title", {}));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].title, "Lonely title");
  EXPECT_EQ(chunks[0].text, "Lonely title");
  // Headings alone are no body either.
  chunks = ChunkDocument(Doc("Lonely title", {Heading(2, "Nothing below")}));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Lonely title");
  EXPECT_TRUE(ChunkDocument(Doc("", {})).empty());
}

TEST(Chunker, TableThatFitsStaysWholeInOneChunk) {
  std::string table;
  for (int r = 0; r < 8; ++r) table += "row" + std::to_string(r) + " | value " + std::to_string(r) + "\n";
  ASSERT_EQ(Words(table), 24u);
  ChunkerOptions options;
  options.max_words = 30;
  options.overlap_words = 5;
  ParsedDocument doc = Doc("Doc", {Paragraph(MakeSentence(1, 10)), Table(table), Paragraph(MakeSentence(2, 10))});
  std::vector<Chunk> chunks = ChunkDocument(doc, options);
  int holding = 0;
  for (const Chunk& c : chunks) {
    if (c.text.find("row0") != std::string::npos) {
      ++holding;
      EXPECT_NE(c.text.find(table), std::string::npos) << c.text;
    }
    EXPECT_LE(Words(c.text), options.max_words) << c.text;
  }
  EXPECT_EQ(holding, 1);
}

TEST(Chunker, OversizedCodeIsSplitOnLinesWithinBudget) {
  std::string code;
  for (int i = 0; i < 40; ++i) code += "call step" + std::to_string(i) + " now\n";  // 3 words a line
  ChunkerOptions options;
  options.max_words = 20;
  options.overlap_words = 5;
  std::vector<Chunk> chunks = ChunkDocument(Doc("Doc", {Code(code)}), options);
  ASSERT_GE(chunks.size(), 6u);
  std::string rejoined;
  for (const Chunk& c : chunks) {
    EXPECT_LE(Words(c.text), options.max_words) << c.text;
    rejoined += c.text;
    if (rejoined.back() != '\n') rejoined += '\n';
  }
  // Every line survives exactly once, in order (no overlap for code).
  EXPECT_EQ(rejoined, code);
}

TEST(Chunker, LongParagraphSplitsAtSentencesWithOverlap) {
  std::string paragraph;
  std::vector<std::string> sentences;
  for (int i = 0; i < 12; ++i) {
    sentences.push_back(MakeSentence(i, 10));
    paragraph += (i ? " " : "") + sentences.back();
  }
  ChunkerOptions options;
  options.max_words = 50;
  options.overlap_words = 15;
  std::vector<Chunk> chunks = ChunkDocument(Doc("Doc", {Paragraph(paragraph)}), options);
  ASSERT_GE(chunks.size(), 3u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(Words(chunks[i].text), options.max_words);
    std::vector<std::string> got = text::SplitSentences(chunks[i].text);
    ASSERT_FALSE(got.empty());
    // Every chunk holds whole sentences of the paragraph.
    for (const std::string& s : got) {
      EXPECT_NE(std::find(sentences.begin(), sentences.end(), s), sentences.end()) << s;
    }
    if (i + 1 < chunks.size()) {
      std::vector<std::string> next = text::SplitSentences(chunks[i + 1].text);
      EXPECT_EQ(next.front(), got.back()) << "chunk " << i + 1 << " should start with the last sentence of chunk " << i;
    }
  }
  // First chunk packs exactly the budget: five 10-word sentences.
  EXPECT_EQ(text::SplitSentences(chunks[0].text).size(), 5u);
  EXPECT_EQ(text::SplitSentences(chunks.back().text).back(), sentences.back());
}

TEST(Chunker, NoOverlapAcrossSections) {
  std::string paragraph;
  for (int i = 0; i < 8; ++i) paragraph += (i ? " " : "") + MakeSentence(i, 10);
  ChunkerOptions options;
  options.max_words = 40;
  options.overlap_words = 15;
  std::vector<Chunk> chunks =
      ChunkDocument(Doc("Doc", {Paragraph(paragraph), Heading(2, "Next"), Paragraph("Fresh start here.")}), options);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks.back().title, "Doc > Next");
  EXPECT_EQ(chunks.back().text, "Fresh start here.");
}

TEST(Chunker, OverlongSentenceIsSplitByWords) {
  std::string sentence = "Start";
  for (int i = 0; i < 100; ++i) sentence += " word" + std::to_string(i);
  sentence += ".";
  ChunkerOptions options;
  options.max_words = 30;
  options.overlap_words = 10;
  std::vector<Chunk> chunks = ChunkDocument(Doc("Doc", {Paragraph(sentence)}), options);
  ASSERT_GE(chunks.size(), 4u);
  size_t total = 0;
  for (const Chunk& c : chunks) {
    EXPECT_LE(Words(c.text), options.max_words) << c.text;
    total += Words(c.text);
  }
  EXPECT_EQ(total, 101u);  // pieces of one sentence carry no overlap
}

// Property check over many random documents: no chunk exceeds the budget,
// whatever the mix of sentence lengths, paragraphs, lists and overlap.
TEST(Chunker, RespectsMaxWordsOnRandomDocuments) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    ChunkerOptions options;
    options.max_words = 10 + rng() % 60;
    options.overlap_words = rng() % (options.max_words + 1);
    std::vector<Block> blocks;
    int sentence_id = 0;
    const int n_blocks = 1 + static_cast<int>(rng() % 8);
    for (int b = 0; b < n_blocks; ++b) {
      switch (rng() % 5) {
        case 0:
          blocks.push_back(Heading(2 + static_cast<int>(rng() % 3), "Heading " + std::to_string(b)));
          break;
        case 1:
          blocks.push_back(Item(MakeSentence(sentence_id++, 3 + rng() % 10)));
          break;
        default: {
          std::string p;
          const int n = 1 + static_cast<int>(rng() % 10);
          for (int s = 0; s < n; ++s) {
            // Now and then a sentence longer than the whole budget.
            const size_t words = 3 + rng() % (rng() % 6 == 0 ? 3 * options.max_words : options.max_words);
            p += (s ? " " : "") + MakeHyphenatedSentence(sentence_id++, words, &rng);
          }
          blocks.push_back(Paragraph(p));
        }
      }
    }
    for (const Chunk& c : ChunkDocument(Doc("Doc", blocks), options)) {
      ASSERT_LE(Words(c.text), options.max_words)
          << "trial " << trial << " max_words " << options.max_words << " overlap " << options.overlap_words
          << "\n" << c.text;
    }
  }
}

}  // namespace
}  // namespace lathe::rag
