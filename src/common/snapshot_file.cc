#include "common/snapshot_file.h"

#include <cstring>
#include <filesystem>

#include "common/binary_io.h"
#include "common/file_util.h"

namespace lathe {
namespace {
constexpr char kMagic[8] = {'L', 'A', 'T', 'H', 'E', 'S', 'N', 'P'};
}

Status WriteSnapshot(const std::string& path, const SnapshotHeader& header, const std::string& payload) {
  BinaryWriter w;
  w.PutRaw(std::string_view(kMagic, sizeof kMagic));
  w.Put<uint32_t>(header.version);
  w.Put<uint64_t>(header.generation);
  w.PutString(header.settings);
  w.Put<uint64_t>(payload.size());
  w.PutRaw(payload);
  w.Put<uint32_t>(Crc32(w.buffer()));
  LATHE_RETURN_IF_ERROR(EnsureDirectory(std::filesystem::path(path).parent_path().string()));
  // Snapshots are derived and checksummed: a file damaged by a power loss is
  // detected and rebuilt, so the write skips fsync (seconds for large indexes).
  return AtomicWriteFile(path, w.buffer(), /*durable=*/false);
}

Status ReadSnapshot(const std::string& path, SnapshotHeader* header, std::string* payload) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound(path + ": no snapshot");
  LATHE_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (data.size() < sizeof kMagic + 4 || data.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0) {
    return Corruption(path + ": not a Lathe snapshot (bad magic)");
  }
  uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, data.data() + data.size() - 4, 4);
  std::string_view body(data.data(), data.size() - 4);
  if (Crc32(body) != stored_crc) return Corruption(path + ": checksum mismatch");
  BinaryReader r(body.substr(sizeof kMagic));
  uint64_t length = 0;
  std::string_view raw;
  if (!r.Get(&header->version) || !r.Get(&header->generation) || !r.GetString(&header->settings) ||
      !r.Get(&length) || !r.GetRaw(length, &raw) || r.remaining() != 0) {
    return Corruption(path + ": truncated or malformed header");
  }
  payload->assign(raw);
  return Status::OK();
}

}  // namespace lathe
