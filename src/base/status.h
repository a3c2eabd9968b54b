// Status and Result<T>: how every fallible Keepsake function reports failure.
//
// We throw nothing ourselves (STYLE.md §2). A Status is OK or an error code plus a message
// that reaches administrators verbatim, so it names the object and the fact and never holds
// a secret. Result<T> holds a T or a non-OK Status. Both are cheap to move; neither is
// thread-safe to mutate concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace keepsake {

enum class ErrorCode : uint8_t {
  kOk,
  kInvalidArgument,  // bad input from a user or caller
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,  // file system or storage refuses access
  kUnauthenticated,   // wrong DMS, another domain, no domain keys on this device
  kNoSpace,
  kUnavailable,         // retry may help: server down, timeout, drive gone
  kCorruption,          // magic, MAC, signature or digest check failed
  kFailedPrecondition,  // DMS unset, job running
  kCancelled,
  kNotSupported,
  kIoError,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);
// The reverse of ErrorCodeName, ignoring case ("not_found" -> kNotFound); nullopt if unknown.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status InvalidArgument(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) { return {ErrorCode::kPermissionDenied, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {ErrorCode::kUnauthenticated, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {ErrorCode::kNoSpace, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {ErrorCode::kCorruption, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {ErrorCode::kFailedPrecondition, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {ErrorCode::kCancelled, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {ErrorCode::kNotSupported, std::move(msg)}; }
  static Status IoError(std::string msg) { return {ErrorCode::kIoError, std::move(msg)}; }
  static Status Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
  // For a code that arrives as data (an API error answer). REQUIRES: code != kOk
  static Status FromCode(ErrorCode code, std::string msg) { return {code, std::move(msg)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno value this error came from (0 when none): callers classify errors by this
  // datum, never by the wording of the message (as restic's IsNotExist looks at the
  // underlying error). Kept across WithContext.
  int sys_errno() const { return errno_; }
  // This status carrying `err` as its errno value (EBUSY marks "another job is running").
  Status WithErrno(int err) && {
    errno_ = err;
    return std::move(*this);
  }

  // "what: <message>"; an OK status stays OK.
  Status WithContext(std::string_view what) &&;
  // "<CODE_NAME>: <message>" for logs and tests.
  std::string ToString() const;

 private:
  Status(ErrorCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  int errno_ = 0;
};

// Maps an errno value to a Status whose message is "<context>: <strerror>" and whose
// sys_errno() is `err`.
// ENOENT -> kNotFound; EACCES/EPERM/EROFS -> kPermissionDenied; ENOSPC/EDQUOT -> kNoSpace;
// ETIMEDOUT/EHOSTUNREACH/ESTALE/ENODEV -> kUnavailable; EEXIST -> kAlreadyExists; else kIoError.
Status StatusFromErrno(int err, std::string_view context);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace keepsake

#define KS_CONCAT_INNER(a, b) a##b
#define KS_CONCAT(a, b) KS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::keepsake::Status ks_status_ = (expr);  \
    if (!ks_status_.ok()) return ks_status_; \
  } while (0)

#define KS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()

// Declares or assigns `lhs`: expands to several statements, so brace it inside an `if`.
#define ASSIGN_OR_RETURN(lhs, expr) KS_ASSIGN_OR_RETURN_IMPL(KS_CONCAT(ks_result_, __LINE__), lhs, expr)

// A broken REQUIRES: is a bug, not an error: abort with file:line.
#define KS_CHECK(cond)                                                         \
  do {                                                                         \
    if (!(cond)) ::keepsake::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

namespace keepsake::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond);
}  // namespace keepsake::internal
