// The `lathe` subcommands: each Register* adds one to the CLI11 app and wires
// it to the shared AppContext. Commands print results to stdout, diagnostics
// to stderr, and set the exit code through the returned int.
#pragma once

#include <CLI/CLI.hpp>

#include "app/app_context.h"

namespace lathe::app {

// Registers ingest, delete, search, collections and eval. *exit_code receives
// the command's status.
void RegisterRagCommands(CLI::App* app, AppContext* ctx, int* exit_code);
// Registers serve and keys.
void RegisterServeCommands(CLI::App* app, AppContext* ctx, int* exit_code);
// Registers `data` (generate, import, export) and `validate`.
void RegisterDataCommands(CLI::App* app, AppContext* ctx, int* exit_code);
// Registers train, runs (list, show, compare) and models (list, promote, rollback).
void RegisterMlCommands(CLI::App* app, AppContext* ctx, int* exit_code);
// Registers `pipeline` (run, backfill, status, logs, resume), `scheduler`
// and `task run`.
void RegisterPipelineCommands(CLI::App* app, AppContext* ctx, int* exit_code);

// Registers `demo` (commands_demo.cc): the main job, end to end.
void RegisterDemoCommand(CLI::App* app, AppContext* ctx, int* exit_code);
// Ingests the knowledge base kb as collection "support" and prints the best k
// passages for each question in questions_path; the demo's RAG half.
int RunKbDemo(AppContext* ctx, const std::string& kb, const std::string& questions_path, size_t k);

// Prints "lathe: <message>" to stderr and returns the exit status for it:
// 2 for bad input or something not found, 1 otherwise.
int ReportError(const Status& st);

}  // namespace lathe::app
