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
  return WriteSnapshot(path, header, std::vector<std::string_view>{payload});
}

Status WriteSnapshot(const std::string& path, const SnapshotHeader& header,
                     const std::vector<std::string_view>& payload) {
  size_t length = 0;
  for (std::string_view piece : payload) length += piece.size();
  BinaryWriter head;
  head.PutRaw(std::string_view(kMagic, sizeof kMagic));
  head.Put<uint32_t>(header.version);
  head.Put<uint64_t>(header.generation);
  head.PutString(header.settings);
  head.Put<uint64_t>(length);
  uint32_t crc = Crc32(head.buffer());
  for (std::string_view piece : payload) crc = Crc32(piece, crc);
  BinaryWriter tail;
  tail.Put<uint32_t>(crc);
  std::vector<std::string_view> file;
  file.reserve(payload.size() + 2);
  file.emplace_back(head.buffer());
  file.insert(file.end(), payload.begin(), payload.end());
  file.emplace_back(tail.buffer());
  LATHE_RETURN_IF_ERROR(EnsureDirectory(std::filesystem::path(path).parent_path().string()));
  // Snapshots are derived and checksummed: a file damaged by a power loss is
  // detected and rebuilt, so the write skips fsync (seconds for large indexes).
  return AtomicWriteFile(path, file, /*durable=*/false);
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
  // Hand the file's buffer over as the payload (moving the payload to its
  // front) rather than copying hundreds of megabytes.
  const size_t offset = static_cast<size_t>(raw.data() - data.data());
  data.erase(data.begin() + static_cast<std::ptrdiff_t>(offset + raw.size()), data.end());
  data.erase(0, offset);
  *payload = std::move(data);
  return Status::OK();
}

}  // namespace lathe
