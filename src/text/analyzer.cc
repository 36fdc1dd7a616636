#include "text/analyzer.h"

#include <libstemmer.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <memory>
#include <string>
#include <unordered_set>

namespace lathe::text {
namespace {

// A Snowball English stemmer per thread (sb_stemmer is not thread-safe).
class ThreadStemmer {
 public:
  ThreadStemmer() : stemmer_(sb_stemmer_new("english", "UTF_8")) {}
  ~ThreadStemmer() { sb_stemmer_delete(stemmer_); }
  void Stem(std::string* word) {
    const sb_symbol* s = sb_stemmer_stem(
        stemmer_, reinterpret_cast<const sb_symbol*>(word->data()), static_cast<int>(word->size()));
    if (s == nullptr) return;  // out of memory: keep the unstemmed word
    word->assign(reinterpret_cast<const char*>(s), static_cast<size_t>(sb_stemmer_length(stemmer_)));
  }

 private:
  sb_stemmer* stemmer_;
};

ThreadStemmer& GetStemmer() {
  thread_local ThreadStemmer stemmer;
  return stemmer;
}

const std::unordered_set<std::string_view>& StopWords() {
  // The classic English list used by Lucene's StandardAnalyzer, plus a few
  // pronouns and auxiliaries.
  static const std::unordered_set<std::string_view> kWords = {
      "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
      "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
      "there", "these", "they", "this", "to", "was", "will", "with", "i", "me", "my",
      "we", "our", "you", "your", "he", "she", "him", "her", "its", "been", "being",
      "were", "has", "have", "had", "do", "does", "did", "can", "could", "would",
      "should", "from", "so", "than", "too", "very", "what", "which", "who", "whom",
      "how", "when", "where", "why", "am", "about"};
  return kWords;
}

inline bool IsWordChar(UChar32 c) { return u_isalnum(c) || u_hasBinaryProperty(c, UCHAR_DIACRITIC); }

// Calls fn(folded_token) for each token of text.
template <typename Fn>
void ForEachToken(std::string_view text, size_t max_bytes, Fn&& fn) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t length = static_cast<int32_t>(text.size());
  int32_t i = 0;
  std::string token;
  bool overlong = false;
  auto flush = [&] {
    if (!token.empty() && !overlong) fn(token);
    token.clear();
    overlong = false;
  };
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c < 0 || !IsWordChar(c)) {
      flush();
      continue;
    }
    UChar32 folded = u_foldCase(c, U_FOLD_CASE_DEFAULT);
    char buf[4];
    int32_t n = 0;
    UBool error = false;
    U8_APPEND(reinterpret_cast<uint8_t*>(buf), n, 4, folded, error);
    if (error) continue;
    if (token.size() + static_cast<size_t>(n) > max_bytes) overlong = true;
    if (!overlong) token.append(buf, static_cast<size_t>(n));
  }
  flush();
}

}  // namespace

bool Analyzer::IsStopWord(std::string_view folded) { return StopWords().count(folded) > 0; }

void Analyzer::Analyze(std::string_view text, std::vector<std::string>* out) const {
  ForEachToken(text, options_.max_token_bytes, [&](std::string& token) {
    if (options_.remove_stop_words && IsStopWord(token)) return;
    std::string term = token;
    if (options_.stem) GetStemmer().Stem(&term);
    out->push_back(std::move(term));
  });
}

size_t Analyzer::CountWords(std::string_view text) {
  size_t n = 0;
  ForEachToken(text, SIZE_MAX, [&](std::string&) { ++n; });
  return n;
}

bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t length = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c < 0) return false;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t length = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < length) {
    int32_t start = i;
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c < 0) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(text.data() + start, static_cast<size_t>(i - start));
    }
  }
  return out;
}

}  // namespace lathe::text
