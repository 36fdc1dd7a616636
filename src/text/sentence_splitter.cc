#include "text/sentence_splitter.h"

#include <unicode/brkiter.h>
#include <unicode/filteredbrk.h>
#include <unicode/unistr.h>

#include <memory>
#include <string_view>

namespace lathe::text {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Abbreviations missing from ICU's English suppression list (which has "Mr."
// and "E.g." but not these), matched as whole words at the end of a piece.
bool EndsWithAbbreviation(const std::string& s) {
  for (std::string_view abbreviation : {"e.g.", "i.e.", "Dr."}) {
    if (s.size() < abbreviation.size() || s.compare(s.size() - abbreviation.size(), std::string::npos, abbreviation) != 0) {
      continue;
    }
    size_t before = s.size() - abbreviation.size();
    if (before == 0 || s[before - 1] == ' ' || s[before - 1] == '(' || s[before - 1] == ',') return true;
  }
  return false;
}

icu::BreakIterator* ThreadIterator() {
  thread_local std::unique_ptr<icu::BreakIterator> iter = [] {
    UErrorCode status = U_ZERO_ERROR;
    icu::Locale locale("en");
    std::unique_ptr<icu::BreakIterator> base(icu::BreakIterator::createSentenceInstance(locale, status));
    if (U_FAILURE(status)) return std::unique_ptr<icu::BreakIterator>();
    std::unique_ptr<icu::FilteredBreakIteratorBuilder> builder(
        icu::FilteredBreakIteratorBuilder::createInstance(locale, status));
    if (U_FAILURE(status) || !builder) return base;
    std::unique_ptr<icu::BreakIterator> filtered(builder->wrapIteratorWithFilter(base.release(), status));
    if (U_FAILURE(status)) return std::unique_ptr<icu::BreakIterator>();
    return filtered;
  }();
  return iter.get();
}

}  // namespace

std::vector<std::string> SplitSentences(std::string_view text) {
  std::vector<std::string> out;
  icu::BreakIterator* iter = ThreadIterator();
  if (iter == nullptr) {
    std::string s = Trim(std::string(text));
    if (!s.empty()) out.push_back(std::move(s));
    return out;
  }
  icu::UnicodeString ustr = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  iter->setText(ustr);
  int32_t start = iter->first();
  for (int32_t end = iter->next(); end != icu::BreakIterator::DONE; end = iter->next()) {
    std::string piece;
    ustr.tempSubStringBetween(start, end).toUTF8String(piece);
    piece = Trim(std::move(piece));
    // Not a sentence end: keep the same start and extend to the next break.
    if (end < ustr.length() && EndsWithAbbreviation(piece)) continue;
    if (!piece.empty()) out.push_back(std::move(piece));
    start = end;
  }
  return out;
}

}  // namespace lathe::text
