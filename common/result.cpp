#include "common/result.h"

#include <cstring>

namespace agentron {

Error errno_error(std::string code, const std::string& what, int errnum) {
  return Error{std::move(code), what + ": " + std::strerror(errnum)};
}

}  // namespace agentron
