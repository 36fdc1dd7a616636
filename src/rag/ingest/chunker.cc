#include "rag/ingest/chunker.h"

#include <algorithm>

#include "text/analyzer.h"
#include "text/sentence_splitter.h"

namespace lathe::rag {
namespace {

struct Unit {
  std::string text;
  size_t words;
  bool carry;        // may be repeated as overlap (sentences, not tables/code)
  bool new_block;    // starts a new block (joined with a blank line)
};

class ChunkBuilder {
 public:
  ChunkBuilder(const ParsedDocument& doc, const ChunkerOptions& options) : doc_(doc), options_(options) {}

  void Heading(const Block& block) {
    Flush(/*keep_overlap=*/false);
    while (!path_.empty() && path_.back().first >= block.level) path_.pop_back();
    path_.emplace_back(block.level, block.text);
  }

  void Add(Unit unit) {
    if (words_ + unit.words > options_.max_words && !units_.empty()) Flush(/*keep_overlap=*/unit.carry);
    // The carried overlap must leave room for the unit: drop its oldest sentences.
    while (overlap_units_ > 0 && !units_.empty() && words_ + unit.words > options_.max_words) {
      words_ -= units_.front().words;
      units_.erase(units_.begin());
      --overlap_units_;
    }
    words_ += unit.words;
    units_.push_back(std::move(unit));
  }

  void Flush(bool keep_overlap) {
    if (units_.empty()) return;
    Chunk chunk;
    chunk.title = Title();
    for (size_t i = 0; i < units_.size(); ++i) {
      if (i > 0) chunk.text += units_[i].new_block ? "\n\n" : " ";
      chunk.text += units_[i].text;
    }
    // A chunk made only of overlap from the previous one adds nothing.
    if (!only_overlap()) chunks_.push_back(std::move(chunk));
    std::vector<Unit> carry;
    size_t carry_words = 0;
    if (keep_overlap) {
      for (size_t i = units_.size(); i-- > 0;) {
        const Unit& u = units_[i];
        if (!u.carry || carry_words + u.words > options_.overlap_words || i == 0) break;
        carry_words += u.words;
        carry.insert(carry.begin(), u);
      }
    }
    overlap_units_ = carry.size();
    units_ = std::move(carry);
    words_ = carry_words;
  }

  std::vector<Chunk> Finish() {
    Flush(false);
    return std::move(chunks_);
  }

 private:
  bool only_overlap() const { return overlap_units_ >= units_.size(); }

  std::string Title() const {
    std::string title = doc_.title.empty() ? doc_.id : doc_.title;
    for (const auto& [level, text] : path_) {
      if (text == title) continue;
      title += " > " + text;
    }
    return title;
  }

  const ParsedDocument& doc_;
  const ChunkerOptions& options_;
  std::vector<std::pair<int, std::string>> path_;
  std::vector<Unit> units_;
  size_t words_ = 0;
  size_t overlap_units_ = 0;
  std::vector<Chunk> chunks_;
};

// Splits an over-long piece of text at word boundaries into parts of at most max_words.
std::vector<std::string> SplitByWords(const std::string& text, size_t max_words) {
  std::vector<std::string> parts;
  std::string current;
  size_t words = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" \n", pos);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    // Count as the budget does: "USB-C" is two words.
    size_t word_count = text::Analyzer::CountWords(word);
    if (words + word_count > max_words && !current.empty()) {
      parts.push_back(std::move(current));
      current.clear();
      words = 0;
    }
    if (!current.empty()) current.push_back(' ');
    current += word;
    words += word_count;
  }
  if (!current.empty()) parts.push_back(std::move(current));
  return parts;
}

}  // namespace

std::vector<Chunk> ChunkDocument(const ParsedDocument& doc, const ChunkerOptions& options) {
  ChunkBuilder builder(doc, options);
  bool any_body = false;
  for (const Block& block : doc.blocks) {
    if (block.kind == Block::Kind::kHeading) {
      builder.Heading(block);
      continue;
    }
    any_body = true;
    size_t words = text::Analyzer::CountWords(block.text);
    if (block.kind == Block::Kind::kTable || block.kind == Block::Kind::kCode) {
      if (words <= options.max_words) {
        builder.Add(Unit{block.text, words, false, true});
      } else {
        // Too big to keep whole: split on lines, each part carries no overlap.
        std::string part;
        size_t part_words = 0;
        size_t pos = 0;
        while (pos <= block.text.size()) {
          size_t end = block.text.find('\n', pos);
          if (end == std::string::npos) end = block.text.size();
          std::string line = block.text.substr(pos, end - pos);
          pos = end + 1;
          size_t lw = text::Analyzer::CountWords(line);
          if (part_words + lw > options.max_words && !part.empty()) {
            builder.Add(Unit{part, part_words, false, true});
            part.clear();
            part_words = 0;
          }
          for (std::string& piece : lw > options.max_words ? SplitByWords(line, options.max_words)
                                                             : std::vector<std::string>{line}) {
            if (!part.empty()) part.push_back('\n');
            part += piece;
            part_words += text::Analyzer::CountWords(piece);
          }
          if (end == block.text.size()) break;
        }
        if (!part.empty()) builder.Add(Unit{part, part_words, false, true});
      }
      continue;
    }
    std::string text = block.kind == Block::Kind::kListItem ? "- " + block.text : block.text;
    if (words <= options.max_words / 2) {
      builder.Add(Unit{text, words, true, true});
      continue;
    }
    bool first = true;
    for (std::string& sentence : text::SplitSentences(text)) {
      size_t sw = text::Analyzer::CountWords(sentence);
      if (sw > options.max_words) {
        for (std::string& piece : SplitByWords(sentence, options.max_words)) {
          builder.Add(Unit{piece, text::Analyzer::CountWords(piece), false, first});
          first = false;
        }
      } else {
        builder.Add(Unit{std::move(sentence), sw, true, first});
        first = false;
      }
    }
  }
  std::vector<Chunk> chunks = builder.Finish();
  if (!any_body && !doc.title.empty()) chunks.push_back(Chunk{doc.title, doc.title});
  return chunks;
}

}  // namespace lathe::rag
