#include "text/sentence_splitter.h"

#include <unicode/brkiter.h>
#include <unicode/filteredbrk.h>
#include <unicode/unistr.h>

#include <memory>

namespace lathe::text {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
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
  for (int32_t end = iter->next(); end != icu::BreakIterator::DONE; start = end, end = iter->next()) {
    std::string piece;
    ustr.tempSubStringBetween(start, end).toUTF8String(piece);
    piece = Trim(std::move(piece));
    if (!piece.empty()) out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace lathe::text
