// Expected failures as values (LevelDB Status / watchman Result): the event loop
// never throws; errno, toml++ and SQLite errors are turned into an Error at the edge.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace agentron {

struct Error {
  std::string code;     // stable, machine-readable ("spawn_failed", "config_invalid", ...)
  std::string message;  // for people: what went wrong and, where possible, what to do
};

// Error from errno: "<what>: <strerror(errnum)>".
Error errno_error(std::string code, const std::string& what, int errnum);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

  // REQUIRES: !ok()
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation with no value.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace agentron
