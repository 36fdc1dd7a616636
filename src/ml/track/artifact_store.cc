#include "ml/track/artifact_store.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "common/file_util.h"

namespace lathe::ml {

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string ArtifactStore::PathOf(const std::string& sha256) const {
  return root_ + "/" + sha256.substr(0, 2) + "/" + sha256.substr(2);
}

Result<std::string> ArtifactStore::Put(std::string_view bytes) {
  std::string sha = Sha256Hex(bytes);
  std::string path = PathOf(sha);
  if (Verify(sha).ok()) return sha;
  LATHE_RETURN_IF_ERROR(EnsureDirectory(root_ + "/" + sha.substr(0, 2)));
  Status st = AtomicWriteFile(path, bytes, /*durable=*/true);
  if (!st.ok()) return IOError(fmt::format("artifact {}: {}", sha, st.message()));
  return sha;
}

Result<std::string> ArtifactStore::Read(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return InvalidArgument(fmt::format("'{}' is not an artifact id (64 hex digits)", sha256));
  std::string path = PathOf(sha256);
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return NotFound(fmt::format("artifact {} is missing ({})", sha256, path));
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return IOError(fmt::format("artifact {}: {}", sha256, bytes.status().message()));
  std::string actual = Sha256Hex(*bytes);
  if (actual != sha256)
    return Corruption(fmt::format("artifact {} ({}) is damaged: its content hashes to {}", sha256, path, actual));
  return bytes;
}

Status ArtifactStore::Verify(const std::string& sha256) const { return Read(sha256).status(); }

}  // namespace lathe::ml
