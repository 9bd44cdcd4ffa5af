// zest::Error: the one exception type zest throws, with a category.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace zest {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    io,           // a file could not be opened, read or mapped
    format,       // a file's contents are malformed
    config,       // a configuration value is missing, of the wrong type or inconsistent
    unsupported,  // valid input that zest does not handle (a model type, a component)
    input,        // a bad argument at run time (ids out of range, prompt too long, bad UTF-8)
    device,       // a device that is not available
    busy,         // a full queue: the same request may succeed later
  };

  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

inline std::string_view to_string(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::io: return "io";
    case Error::Kind::format: return "format";
    case Error::Kind::config: return "config";
    case Error::Kind::unsupported: return "unsupported";
    case Error::Kind::input: return "input";
    case Error::Kind::device: return "device";
    case Error::Kind::busy: return "busy";
  }
  return "unknown";
}

namespace detail {

// Throws an Error whose message is the concatenation of the arguments (streamed).
template <typename... Args>
[[noreturn]] void fail(Error::Kind kind, Args&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Args>(parts));
  throw Error(kind, message.str());
}

}  // namespace detail
}  // namespace zest
