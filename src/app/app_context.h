// AppContext: what every `lathe` command shares — the data directory, the
// catalog, the embedder, index settings and the CPU pool — built once from the
// command line. Owned by main(); not thread-safe itself (its members document
// their own promises).
#pragma once

#include <memory>
#include <string>

#include "common/cpu_pool.h"
#include "rag/embed/embedder_store.h"
#include "rag/index/catalog.h"
#include "rag/index/collection_index.h"
#include "rag/ingest/chunker.h"
#include "rag/retrieve/retriever.h"

namespace lathe::app {

struct Settings {
  std::string data_dir = "./lathe-data";
  std::string log_level = "info";
  size_t threads = 0;  // 0: all cores
  rag::EmbedderOptions embedder;
  rag::IndexOptions index;
  rag::ChunkerOptions chunker;
  rag::FusionOptions fusion;
  std::string fusion_method = "weighted";
  rag::FusionOptions Fusion() const {
    rag::FusionOptions f = fusion;
    f.method = fusion_method == "weighted" ? rag::FusionOptions::Method::kWeighted : rag::FusionOptions::Method::kRrf;
    return f;
  }
  size_t candidates = 100;
  // When set (lathe serve with a remote embedder), every collection embeds with
  // it instead of the built-in embedder above.
  std::shared_ptr<const rag::Embedder> embedder_override;
};

struct AppContext {
  Settings settings;
  std::unique_ptr<CpuPool> pool;
  std::unique_ptr<rag::EmbedderStore> embedders;
  std::unique_ptr<rag::Catalog> catalog;

  // Opens the catalog and builds the embedder store and pool. Errors name the cause.
  Status Open();

  // Loads a collection's index (snapshot or rebuild). NotFound for an unknown
  // collection; FailedPrecondition for an empty one.
  Result<std::unique_ptr<rag::CollectionIndex>> LoadIndex(const std::string& collection);
};

}  // namespace lathe::app
