// Snapshot files: the framing shared by every derived index file.
//   magic "LATHESNP" (8 bytes) | u32 format version | u64 catalog generation |
//   string settings key | u64 payload length | payload | u32 CRC-32 of all before it
// Written atomically (temp file, rename) without fsync: snapshots are derived
// data, and a file damaged by a power loss fails its checksum and is rebuilt.
// Readers get NotFound for a missing file and Corruption for any damage,
// never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe {

struct SnapshotHeader {
  uint32_t version = 0;
  uint64_t generation = 0;
  std::string settings;  // what the payload was built with; a mismatch means stale
};

Status WriteSnapshot(const std::string& path, const SnapshotHeader& header, const std::string& payload);
// As above, for a payload that is the concatenation of pieces (see
// BinaryWriter::pieces): nothing is copied into one buffer.
Status WriteSnapshot(const std::string& path, const SnapshotHeader& header,
                     const std::vector<std::string_view>& payload);
// On success fills header and payload. Checks magic, length and checksum; the
// caller checks version, generation and settings.
Status ReadSnapshot(const std::string& path, SnapshotHeader* header, std::string* payload);

}  // namespace lathe
