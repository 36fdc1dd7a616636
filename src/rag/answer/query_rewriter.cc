#include "rag/answer/query_rewriter.h"

#include <cctype>
#include <set>

namespace lathe::rag {
namespace {

std::vector<std::string> LowerWords(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

}  // namespace

bool IsFollowUp(const std::string& message, const text::Analyzer& analyzer) {
  static const std::set<std::string> kReferring = {
      "it",  "its",  "it's", "that",  "those", "these", "this",   "they",   "them", "their", "one",
      "ones", "first", "second", "third", "last", "former", "latter", "same", "there", "else", "another"};
  std::vector<std::string> words = LowerWords(message);
  if (words.empty()) return false;
  if (words.size() >= 2 && (words[0] == "what" || words[0] == "how") && words[1] == "about") return true;
  if (words[0] == "and" || words[0] == "also") return true;
  size_t content = analyzer.Analyze(message).size();
  if (content < 2) return true;
  // A referring word matters only when the message says little else: "how do I
  // reset my password if I forgot it" stands alone, "does it work offline" not.
  if (content > 2) return false;
  for (const auto& w : words) {
    if (kReferring.count(w)) return true;
  }
  return false;
}

std::string RewriteHeuristically(const std::string& message, const std::vector<std::string>& previous_queries) {
  if (previous_queries.empty()) return message;
  return previous_queries.back() + " " + message;
}

}  // namespace lathe::rag
