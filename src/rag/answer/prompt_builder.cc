#include "rag/answer/prompt_builder.h"

#include <algorithm>

namespace lathe::rag {
namespace {

constexpr const char* kSystemPrompt =
    "You are a customer-support assistant. Answer the user's question using only the numbered passages "
    "below. After each statement, cite the passage it comes from as [n]. When you quote, copy the words "
    "exactly inside double quotes, followed by the citation. If the passages do not contain the answer, "
    "say that you do not know and that a person will follow up. Be brief.";

std::string Clip(const std::string& s, size_t max_chars) {
  if (s.size() <= max_chars) return s;
  size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "...";
}

}  // namespace

size_t EstimateTokens(const std::string& text) { return (text.size() + 3) / 4; }

std::vector<ChatMessage> BuildPrompt(const std::string& question, const std::vector<Passage>& passages,
                                     const std::vector<Turn>& history, const PromptOptions& options,
                                     std::vector<Passage>* used) {
  used->clear();
  std::string context = "Passages:\n";
  size_t tokens = 0;
  for (const Passage& p : passages) {
    std::string block = "[" + std::to_string(p.n) + "] " + p.title + "\n" + p.text + "\n\n";
    size_t t = EstimateTokens(block);
    if (tokens + t > options.max_context_tokens) continue;  // a later, shorter passage may still fit
    tokens += t;
    context += block;
    used->push_back(p);
  }
  std::vector<ChatMessage> messages;
  messages.push_back({"system", (options.system_prompt.empty() ? kSystemPrompt : options.system_prompt) +
                                    std::string("\n\n") + context});
  size_t first = history.size() > options.max_history_turns ? history.size() - options.max_history_turns : 0;
  for (size_t i = first; i < history.size(); ++i) {
    messages.push_back({"user", Clip(history[i].user, options.max_history_chars)});
    messages.push_back({"assistant", Clip(history[i].assistant, options.max_history_chars)});
  }
  messages.push_back({"user", question});
  return messages;
}

std::vector<ChatMessage> BuildRewritePrompt(const std::string& message, const std::vector<Turn>& history) {
  std::string convo;
  size_t first = history.size() > 3 ? history.size() - 3 : 0;
  for (size_t i = first; i < history.size(); ++i) {
    convo += "User: " + Clip(history[i].user, 400) + "\nAssistant: " + Clip(history[i].assistant, 400) + "\n";
  }
  return {{"system",
           "Rewrite the user's last message as one standalone search query that can be understood without the "
           "conversation. Reply with the query only."},
          {"user", convo + "Last message: " + message}};
}

}  // namespace lathe::rag
