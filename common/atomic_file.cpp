#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/unique_fd.h"

namespace agentron {
namespace {

// ".<name>.tmp-<16 random hex digits>": not a name anyone can plant in advance.
std::string random_tmp_name(const std::string& name) {
  unsigned long long bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits)) {
    bits ^= static_cast<unsigned long long>(::getpid()) << 32 ^ reinterpret_cast<unsigned long long>(&bits);
  }
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", bits);
  return "." + name + ".tmp-" + suffix;
}

}  // namespace

Status write_file_atomically_named(const std::filesystem::path& path, const std::string& content, int mode,
                                   const std::string& tmp_name) {
  std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
  std::string name = path.filename().string();
  UniqueFd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno_error("write_failed", "cannot open " + folder.string(), errno);
  // O_EXCL|O_NOFOLLOW: a name that exists — a symlink planted by whoever else may write
  // this folder, say — is refused, never followed or truncated.
  UniqueFd fd(::openat(dir.get(), tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) {
    return errno_error(errno == EEXIST ? "tmp_exists" : "write_failed", "cannot create " + (folder / tmp_name).string(),
                       errno);
  }
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlinkat(dir.get(), tmp_name.c_str(), 0);
    return errno_error("write_failed", what, err);
  };
  for (size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + (folder / tmp_name).string());
    done += static_cast<size_t>(n);
  }
  // renameat replaces whatever has the final name (a symlink included) without following it.
  if (::fsync(fd.get()) != 0 || ::renameat(dir.get(), tmp_name.c_str(), dir.get(), name.c_str()) != 0) {
    return fail("cannot write " + path.string());
  }
  ::fsync(dir.get());
  return ok_status();
}

Status write_file_atomically(const std::filesystem::path& path, const std::string& content, int mode) {
  Status status = ok_status();
  for (int attempt = 0; attempt < 8; ++attempt) {
    status = write_file_atomically_named(path, content, mode, random_tmp_name(path.filename().string()));
    if (status || status.error().code != "tmp_exists") return status;
  }
  return status;
}

}  // namespace agentron
