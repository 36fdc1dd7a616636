// Analyzer: turns UTF-8 text into index terms: tokenise on Unicode letters and
// digits, case-fold each code point (ICU simple folding: "É" -> "é", but "ß"
// stays "ß"), drop English stop words, Snowball-stem.
// Invalid UTF-8 bytes act as separators. Thread-safe: stemmers are per thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lathe::text {

struct AnalyzerOptions {
  bool stem = true;
  bool remove_stop_words = true;
  size_t max_token_bytes = 64;  // longer runs (hashes, base64) are skipped
};

class Analyzer {
 public:
  explicit Analyzer(AnalyzerOptions options = {}) : options_(options) {}

  // Appends the terms of text, in order, to out.
  void Analyze(std::string_view text, std::vector<std::string>* out) const;
  std::vector<std::string> Analyze(std::string_view text) const {
    std::vector<std::string> out;
    Analyze(text, &out);
    return out;
  }

  // Tokenise and fold only (no stop words, no stemming): raw word count.
  static size_t CountWords(std::string_view text);

  static bool IsStopWord(std::string_view folded);

 private:
  AnalyzerOptions options_;
};

// True when text is valid UTF-8.
bool IsValidUtf8(std::string_view text);

// Replaces each invalid UTF-8 sequence with U+FFFD.
std::string SanitizeUtf8(std::string_view text);

}  // namespace lathe::text
