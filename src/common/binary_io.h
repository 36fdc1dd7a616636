// BinaryWriter / BinaryReader: little-endian framing of integers, floats,
// strings and arrays for snapshot payloads. A writer can also reference a
// large array instead of copying it (PutArrayRef); its output is then a list
// of pieces() to be written one after another. The reader never reads past its
// buffer: every Read* returns false on overrun, and callers turn that into a
// Corruption status. Not thread-safe; cheap to construct.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace lathe {

class BinaryWriter {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void PutString(std::string_view s) {
    Put<uint64_t>(s.size());
    buf_.append(s.data(), s.size());
  }
  template <typename T>
  void PutArray(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  // Same bytes as PutArray, but the array is referenced, not copied: it must
  // stay alive and unchanged until pieces() have been consumed.
  template <typename T>
  void PutArrayRef(const T* data, size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<uint64_t>(n);
    done_.emplace_back(std::move(buf_), std::string_view(reinterpret_cast<const char*>(data), n * sizeof(T)));
    buf_ = std::string();
  }
  void PutRaw(std::string_view s) { buf_.append(s.data(), s.size()); }
  // The bytes written so far; only for writers without references.
  std::string& buffer() { return buf_; }
  // All bytes written so far, in order, as pieces.
  std::vector<std::string_view> pieces() const {
    std::vector<std::string_view> out;
    for (const auto& [owned, referenced] : done_) {
      if (!owned.empty()) out.emplace_back(owned);
      if (!referenced.empty()) out.push_back(referenced);
    }
    if (!buf_.empty()) out.emplace_back(buf_);
    return out;
  }
  size_t size() const {
    size_t n = buf_.size();
    for (const auto& [owned, referenced] : done_) n += owned.size() + referenced.size();
    return n;
  }

 private:
  std::string buf_;
  // Bytes written before each reference, and the reference.
  std::vector<std::pair<std::string, std::string_view>> done_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view data) : data_(data) {}
  template <typename T>
  bool Get(T* v) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetString(std::string* s) {
    uint64_t n;
    if (!Get(&n) || n > data_.size() - pos_) return false;
    s->assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool GetArray(std::vector<T>* v) {
    uint64_t n;
    if (!Get(&n) || n > (data_.size() - pos_) / sizeof(T)) return false;
    v->resize(n);
    std::memcpy(v->data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return true;
  }
  bool GetRaw(size_t n, std::string_view* out) {
    if (n > data_.size() - pos_) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace lathe
