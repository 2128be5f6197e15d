// kiln's one error policy.
//
// Lower layers never print and never exit: they return Expected<T>, which holds either a value or
// an Error. An Error carries the exit code the command will end with, a message that names the
// failed call and its object, and a hint that says the way out. The CLI is the only place that
// turns an Error into "kiln: error: ..." on stderr (see cli/app.cpp).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace kiln {

// Exit codes of the kiln binary; README.md documents them for users.
enum class ExitCode : int {
  ok = 0,
  build_failed = 1,       // a step, the bootstrap or an export failed
  usage = 2,              // bad command line
  invalid_definition = 3, // the image definition does not validate
  input = 4,              // an input (file, artifact) is missing, unreadable or fails its sha256
  environment = 5,        // the machine lacks something: root, a tool, disk space, a mirror
  refused = 6,            // the store refuses: a version published with other content, a
                          // promotion its channel's rules forbid, a revoked version
  interrupted = 130,      // SIGINT or SIGTERM
};

struct Error {
  ExitCode code = ExitCode::build_failed;
  std::string message;
  std::string hint;   // how to fix it; may be empty
  std::string detail; // extra lines shown under the message (e.g. a log tail); may be empty
};

Error make_error(ExitCode code, std::string message, std::string hint = {});

// Error from errno, e.g. errno_error("cannot open", path) -> "cannot open PATH: No such file ...".
Error errno_error(std::string_view what, std::string_view object, int err,
                  ExitCode code = ExitCode::build_failed);

struct Unit {};

template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

private:
  std::variant<T, Error> v_;
};

using Status = Expected<Unit>;
inline Status ok_status()
{
  return Unit{};
}

} // namespace kiln

// Returns the error of an Expected expression from the enclosing function.
#define KILN_TRY(expr) KILN_TRY_IMPL(expr, KILN_TRY_NAME(kiln_try_result_, __COUNTER__))
#define KILN_TRY_NAME(a, b) KILN_TRY_NAME2(a, b)
#define KILN_TRY_NAME2(a, b) a##b
#define KILN_TRY_IMPL(expr, name)                                                                  \
  do {                                                                                             \
    auto name = (expr);                                                                            \
    if (!name)                                                                                     \
      return std::move(name).error();                                                              \
  } while (0)
