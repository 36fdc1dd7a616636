#include "rag/answer/citation_checker.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "text/sentence_splitter.h"

namespace lathe::rag {
namespace {

std::set<std::string> Words(const std::string& s) {
  std::set<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80)) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      if (w.size() > 2) out.insert(w);
      w.clear();
    }
  }
  return out;
}

std::string BestSentence(const std::string& passage, const std::string& citing) {
  std::set<std::string> want = Words(citing);
  std::string best;
  size_t best_overlap = 0;
  for (const auto& s : text::SplitSentences(passage)) {
    size_t overlap = 0;
    for (const auto& w : Words(s)) overlap += want.count(w);
    if (best.empty() || overlap > best_overlap) {
      best = s;
      best_overlap = overlap;
    }
  }
  return best;
}

// The last quoted span in text (straight or typographic quotes), or "".
std::string LastQuote(const std::string& text) {
  static const std::string kOpen[] = {"\"", "\xE2\x80\x9C"};   // " “
  static const std::string kClose[] = {"\"", "\xE2\x80\x9D"};  // " ”
  std::string best;
  size_t best_end = 0;
  for (int k = 0; k < 2; ++k) {
    size_t close = text.rfind(kClose[k]);
    if (close == std::string::npos || close == 0) continue;
    size_t open = text.rfind(kOpen[k], close - 1);
    if (open == std::string::npos) continue;
    size_t start = open + kOpen[k].size();
    if (close > start && close + 1 > best_end) {
      best = text.substr(start, close - start);
      best_end = close + 1;
    }
  }
  return best;
}

}  // namespace

std::string NormalizeForQuote(const std::string& text) {
  std::string s = text;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  };
  replace_all("\xE2\x80\x98", "'");  // ‘
  replace_all("\xE2\x80\x99", "'");  // ’
  replace_all("\xE2\x80\x9C", "\"");
  replace_all("\xE2\x80\x9D", "\"");
  replace_all("\xE2\x80\x93", "-");  // –
  replace_all("\xE2\x80\x94", "-");  // —
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Answer CheckCitations(const std::string& generated, const std::vector<Passage>& passages) {
  Answer answer;
  std::set<int> cited;
  std::string out;
  size_t sentence_start = 0;  // in out: where the current sentence began
  size_t i = 0;
  while (i < generated.size()) {
    char c = generated[i];
    if (c == '[') {
      size_t close = generated.find(']', i);
      bool numeric = close != std::string::npos && close > i + 1 && close - i <= 6;
      for (size_t j = i + 1; numeric && j < close; ++j) numeric = std::isdigit(static_cast<unsigned char>(generated[j]));
      if (numeric) {
        int n = std::stoi(generated.substr(i + 1, close - i - 1));
        const Passage* passage = nullptr;
        for (const auto& p : passages) {
          if (p.n == n) passage = &p;
        }
        std::string sentence = out.substr(sentence_start);
        std::string quote = LastQuote(sentence);
        bool valid = passage != nullptr;
        if (valid && !quote.empty()) {
          valid = NormalizeForQuote(passage->text).find(NormalizeForQuote(quote)) != std::string::npos ||
                  NormalizeForQuote(passage->title).find(NormalizeForQuote(quote)) != std::string::npos;
        }
        if (valid) {
          out += generated.substr(i, close - i + 1);
          if (cited.insert(n).second) {
            answer.citations.push_back({n, passage->chunk_id, passage->doc_id, passage->title,
                                        quote.empty() ? BestSentence(passage->text, sentence) : quote});
          }
        } else {
          ++answer.removed_citations;
          // Drop the marker and the space before it.
          while (!out.empty() && out.back() == ' ') out.pop_back();
        }
        i = close + 1;
        continue;
      }
    }
    out += c;
    if ((c == '.' || c == '!' || c == '?' || c == '\n') && i + 1 < generated.size() &&
        std::isspace(static_cast<unsigned char>(generated[i + 1]))) {
      sentence_start = out.size();
    }
    ++i;
  }
  answer.text = out;
  return answer;
}

std::string CitationStreamFilter::Feed(std::string_view piece) {
  std::string out;
  for (char c : piece) {
    if (held_.empty()) {
      if (c == '[') {
        held_ = "[";
      } else {
        out += c;
      }
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) && held_.size() < 5) {
      held_ += c;
      continue;
    }
    if (c == ']' && held_.size() > 1) {
      int n = std::stoi(held_.substr(1));
      if (std::find(valid_.begin(), valid_.end(), n) != valid_.end()) {
        out += held_ + "]";
      } else {
        ++removed_;
      }
      held_.clear();
      continue;
    }
    // Not a marker after all: show what was held, then look at c afresh.
    out += held_;
    held_.clear();
    if (c == '[') {
      held_ = "[";
    } else {
      out += c;
    }
  }
  return out;
}

std::string CitationStreamFilter::Flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace lathe::rag
