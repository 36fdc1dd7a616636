// lathe: the command-line entry point. Parses global options, then runs one
// subcommand (see commands.h).
#include <omp.h>

#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>
#ifdef LATHE_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include "app/commands.h"
#include "common/logging.h"
#include "common/omp_threads.h"

namespace {

// Which allocator malloc really reaches, checked on a live block rather than
// taken from the build options.
std::string AllocatorName() {
#ifdef LATHE_WITH_MIMALLOC
  void* block = std::calloc(1, 64);
  const bool interposed = mi_is_in_heap_region(block);
  std::free(block);
  const int v = mi_version();
  if (interposed) return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." +
                         std::to_string(v % 10);
  return "glibc (mimalloc linked but not interposed)";
#else
  return "glibc";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  // FAISS and BLAS would spread one query over all cores and fight each other;
  // Lathe parallelises across requests and documents instead.
  omp_set_num_threads(1);
  lathe::SetBlasThreads(1);

  lathe::app::AppContext ctx;
  int exit_code = 0;
  CLI::App app{"Lathe: a retrieval-augmented support assistant and an MLOps pipeline in one binary"};
  app.set_version_flag("--version", [] { return "lathe 0.1.0 (malloc: " + AllocatorName() + ")"; });
  app.require_subcommand(1);
  app.add_option("--data-dir", ctx.settings.data_dir, "Directory holding the catalog, indexes and artifacts")
      ->capture_default_str();
  app.add_option("--log-level", ctx.settings.log_level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--threads", ctx.settings.threads, "Worker threads for CPU work (0: all cores)");
  lathe::app::RegisterRagCommands(&app, &ctx, &exit_code);
  lathe::app::RegisterServeCommands(&app, &ctx, &exit_code);
  lathe::app::RegisterDataCommands(&app, &ctx, &exit_code);
  lathe::app::RegisterMlCommands(&app, &ctx, &exit_code);
  lathe::app::RegisterPipelineCommands(&app, &ctx, &exit_code);
  lathe::app::RegisterDemoCommand(&app, &ctx, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
