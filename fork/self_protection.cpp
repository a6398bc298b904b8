#include "fork/self_protection.h"

#include <sys/prctl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fork/fork_errors.h"

namespace agentron {

Status make_undumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return errno_error(fork_error::protect_failed, "prctl(PR_SET_DUMPABLE, 0)", errno);
  return ok_status();
}

std::string take_from_environment(const char* name) {
  char* value = std::getenv(name);
  if (!value) return "";
  std::string taken = value;
  // getenv() points into the strings the kernel placed at exec (nothing has called
  // setenv() yet): those are the bytes /proc/<pid>/environ shows.
  std::memset(value, 0, taken.size());
  ::unsetenv(name);
  return taken;
}

}  // namespace agentron
