// Status and Result<T>: errors as values at component boundaries.
// A Status is either OK or carries a code and a one-line message that names
// what failed and why. Immutable after construction; safe to copy across threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace lathe {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // caller gave bad input (maps to HTTP 400)
  kNotFound,          // 404
  kAlreadyExists,     // 409
  kPermissionDenied,  // 403
  kUnauthenticated,   // 401
  kResourceExhausted, // 429 / 413
  kFailedPrecondition,
  kUnavailable,       // upstream down, retryable (503)
  kDeadlineExceeded,  // 504
  kCorruption,        // persisted data failed a check
  kIOError,
  kUnsupported,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: document 'a.md' ..." ; "OK" when ok().
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace lathe

#define LATHE_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::lathe::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)

#define LATHE_CONCAT_INNER(a, b) a##b
#define LATHE_CONCAT(a, b) LATHE_CONCAT_INNER(a, b)
#define LATHE_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto LATHE_CONCAT(_res_, __LINE__) = (expr);                     \
  if (!LATHE_CONCAT(_res_, __LINE__).ok())                         \
    return LATHE_CONCAT(_res_, __LINE__).status();                 \
  lhs = std::move(LATHE_CONCAT(_res_, __LINE__)).value()
