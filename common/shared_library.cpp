#include "common/shared_library.h"

#include <dlfcn.h>

namespace agentron {

Result<SharedLibrary> SharedLibrary::open(const std::string& soname, const std::string& package,
                                          const std::string& error_code) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return Error{error_code, "cannot load " + soname + " (install " + package + "): " + ::dlerror()};
  }
  return SharedLibrary(handle);
}

void* SharedLibrary::symbol(const char* name) const { return ::dlsym(handle_, name); }

}  // namespace agentron
