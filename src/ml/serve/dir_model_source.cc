#include "ml/serve/dir_model_source.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/file_util.h"

namespace lathe::ml {
namespace {

Result<std::optional<nlohmann::json>> ReadModelJson(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name + ".json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<nlohmann::json>();
  LATHE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + ": not a JSON object");
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() < 1)
    return InvalidArgument(path + ": 'version' must be an integer >= 1");
  return std::optional<nlohmann::json>(std::move(j));
}

}  // namespace

ModelLoader DirModelLoader(std::string dir) {
  return [dir](const std::string& name) -> Result<std::optional<ModelBundle>> {
    LATHE_ASSIGN_OR_RETURN(std::optional<nlohmann::json> j, ReadModelJson(dir, name));
    if (!j) return std::optional<ModelBundle>();
    const std::string path = dir + "/" + name + ".json";
    ModelBundle b;
    b.name = name;
    b.version = (*j)["version"].get<int64_t>();
    for (const char* field : {"kind", "model", "feature_spec"}) {
      if (!j->contains(field) || !(*j)[field].is_string())
        return InvalidArgument(path + ": '" + field + "' must be a string");
    }
    if (!j->contains("threshold") || !(*j)["threshold"].is_number())
      return InvalidArgument(path + ": 'threshold' must be a number");
    b.kind = (*j)["kind"].get<std::string>();
    b.model_bytes = (*j)["model"].get<std::string>();
    b.feature_spec_yaml = (*j)["feature_spec"].get<std::string>();
    b.threshold = (*j)["threshold"].get<double>();
    return std::optional<ModelBundle>(std::move(b));
  };
}

ModelVersionProbe DirModelProbe(std::string dir) {
  return [dir](const std::string& name) -> Result<std::optional<int64_t>> {
    LATHE_ASSIGN_OR_RETURN(std::optional<nlohmann::json> j, ReadModelJson(dir, name));
    if (!j) return std::optional<int64_t>();
    return std::optional<int64_t>((*j)["version"].get<int64_t>());
  };
}

Status WriteModelFile(const std::string& dir, const ModelBundle& b) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(StatusCode::kIOError, dir + ": " + ec.message());
  nlohmann::json j = {{"name", b.name},       {"version", b.version},   {"kind", b.kind},
                      {"threshold", b.threshold}, {"model", b.model_bytes}, {"feature_spec", b.feature_spec_yaml}};
  return AtomicWriteFile(dir + "/" + b.name + ".json", j.dump(), false);
}

}  // namespace lathe::ml
