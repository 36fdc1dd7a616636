// File helpers: whole-file reads with a size cap, crash-safe atomic writes
// (temp file, fsync, rename, directory fsync), checksums and content hashes.
// Stateless; all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe {

// Reads the whole file. Fails with IOError if it cannot be opened or read and
// with ResourceExhausted if it is larger than max_bytes.
Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes = UINT64_MAX);

// Writes data to path so that a crash at any point leaves either the old file
// or the complete new one: writes path.tmp.<pid>, fsyncs it, renames it over
// path, then fsyncs the directory. With durable == false the fsyncs are
// skipped: a process crash still leaves the old or the new file, but after a
// power loss the file may be damaged — only for derived files that carry a
// checksum and can be rebuilt (index snapshots, embedder models).
Status AtomicWriteFile(const std::string& path, std::string_view data, bool durable = true);
// As above, for a file that is the concatenation of pieces (large arrays are
// written from where they live instead of being copied into one buffer).
Status AtomicWriteFile(const std::string& path, const std::vector<std::string_view>& pieces, bool durable = true);

// Creates dir and its parents if missing.
Status EnsureDirectory(const std::string& dir);

// CRC-32 (zlib polynomial) of data.
// CRC-32 of data; pass the CRC of what came before to continue it.
uint32_t Crc32(std::string_view data, uint32_t previous = 0);

// Lower-case hex SHA-256 of data (64 characters).
std::string Sha256Hex(std::string_view data);

}  // namespace lathe
