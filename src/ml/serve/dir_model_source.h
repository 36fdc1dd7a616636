// DirModelSource: the interim source of champion models until the registry
// (src/ml/track) is wired in: the champion of model NAME is the file
// DIR/NAME.json (format in docs/serving.md), replaced atomically (write a
// temporary file, rename) to promote another version. Gives the ModelLoader
// and ModelVersionProbe the ModelServer takes. Thread-safe (stateless).
#pragma once

#include <string>

#include "common/status.h"
#include "ml/serve/model_bundle.h"

namespace lathe::ml {

// A loader reading DIR/NAME.json: nullopt when the file does not exist;
// InvalidArgument naming the file and field when it is not a model file.
ModelLoader DirModelLoader(std::string dir);
// The version field of DIR/NAME.json only.
ModelVersionProbe DirModelProbe(std::string dir);

// Writes bundle as DIR/NAME.json atomically (creates DIR).
Status WriteModelFile(const std::string& dir, const ModelBundle& bundle);

}  // namespace lathe::ml
