// A C library loaded when first needed (dlopen) instead of linked. A library that only
// some paths use then costs the others nothing — not its mapping, its relocations, or
// its own dependencies: libcurl for agentron-fork's `ensure-fork --create`, libcrypto
// for the SHA-256 of snapshots. The library stays loaded for the life of the process.
#pragma once

#include <string>

#include "common/result.h"

namespace agentron {

class SharedLibrary {
 public:
  // dlopen(soname). The error has `error_code` and says what to install (`package`).
  static Result<SharedLibrary> open(const std::string& soname, const std::string& package,
                                    const std::string& error_code);

  // Points `fn` at the library's function `name`; false if the library lacks it.
  template <typename Fn>
  bool bind(Fn*& fn, const char* name) const {
    fn = reinterpret_cast<Fn*>(symbol(name));
    return fn != nullptr;
  }

 private:
  explicit SharedLibrary(void* handle) : handle_(handle) {}
  void* symbol(const char* name) const;

  void* handle_;  // never dlclose()d
};

}  // namespace agentron
