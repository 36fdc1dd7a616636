#include "common/file_util.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <openssl/evp.h>

namespace lathe {
namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return IOError(path + ": is a directory");
  uint64_t size = fs::file_size(path, ec);
  if (ec) return IOError(path + ": cannot read (" + ec.message() + ")");
  if (size > max_bytes) {
    return Status(StatusCode::kResourceExhausted,
                  path + ": file is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string data;
  data.resize(size);
  if (size > 0 && !in.read(data.data(), static_cast<std::streamsize>(size))) {
    return IOError(path + ": read failed");
  }
  return data;
}

namespace {
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IOError(path + ": write failed (" + std::strerror(errno) + ")");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}
}  // namespace

Status AtomicWriteFile(const std::string& path, std::string_view data, bool durable) {
  return AtomicWriteFile(path, std::vector<std::string_view>{data}, durable);
}

Status AtomicWriteFile(const std::string& path, const std::vector<std::string_view>& pieces, bool durable) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IOError(tmp + ": cannot create (" + std::strerror(errno) + ")");
  Status st;
  for (std::string_view piece : pieces) {
    st = WriteAll(fd, piece, tmp);
    if (!st.ok()) break;
  }
  if (st.ok() && durable && ::fsync(fd) != 0) st = IOError(tmp + ": fsync failed (" + std::strerror(errno) + ")");
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return IOError(path + ": rename failed (" + std::strerror(errno) + ")");
  }
  if (!durable) return Status::OK();
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IOError(dir + ": cannot create directory (" + ec.message() + ")");
  return Status::OK();
}

uint32_t Crc32(std::string_view data, uint32_t previous) {
  uLong crc = previous;
  // zlib takes uInt lengths; feed in 1 GiB pieces.
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    uInt piece = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), piece);
    p += piece;
    left -= piece;
  }
  return static_cast<uint32_t>(crc);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace lathe
