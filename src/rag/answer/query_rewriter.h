// Follow-up detection and the heuristic rewrite of a follow-up question into
// a standalone query ("what about the second one?" after "which plans do you
// offer?"). Used when no LLM is configured; with one, the LLM rewrites
// (prompt_builder.h). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/answer/prompt_builder.h"
#include "text/analyzer.h"

namespace lathe::rag {

// True when message leans on earlier turns: it starts with "what about",
// "how about", "and" or "also"; or it has fewer than two content terms; or it
// has at most two and a referring word (it, that, those, the second one...).
// A self-contained question is false.
bool IsFollowUp(const std::string& message, const text::Analyzer& analyzer);

// The previous standalone query joined with the message's own words; the
// message alone when there is no history.
std::string RewriteHeuristically(const std::string& message, const std::vector<std::string>& previous_queries);

}  // namespace lathe::rag
