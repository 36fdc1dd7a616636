// PromptBuilder: the messages sent to an LLM for a grounded answer: system
// instructions (answer only from the numbered passages, cite [n], quote exact
// words), the numbered passages within a token budget, a condensed history,
// and the question. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/answer/llm.h"
#include "rag/answer/answer.h"

namespace lathe::rag {

struct Turn {
  std::string user;
  std::string assistant;
};

struct PromptOptions {
  size_t max_context_tokens = 3000;  // passages
  size_t max_history_turns = 4;
  size_t max_history_chars = 600;    // per message in the condensed history
  std::string system_prompt;         // empty: the built-in instructions
};

// Rough token count (4 bytes a token, the usual English estimate).
size_t EstimateTokens(const std::string& text);

// *used receives the passages that fitted the budget (in order); only those
// may be cited.
std::vector<ChatMessage> BuildPrompt(const std::string& question, const std::vector<Passage>& passages,
                                     const std::vector<Turn>& history, const PromptOptions& options,
                                     std::vector<Passage>* used);

// Messages asking the LLM to rewrite a follow-up into a standalone query.
std::vector<ChatMessage> BuildRewritePrompt(const std::string& message, const std::vector<Turn>& history);

}  // namespace lathe::rag
