#include "backup/file_ops.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "backup/sha256.h"
#include "common/unique_fd.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

Status write_all(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write_failed", "cannot write " + path.string(), errno);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ok_status();
}

}  // namespace

std::int64_t to_ns(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

timespec from_ns(std::int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

Result<struct stat> lstat_path(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_error("stat_failed", "cannot stat " + path.string(), errno);
  return st;
}

namespace {

// Reads `in` to EOF in 1 MiB chunks, hashing them and handing each to `on_chunk`
// (which may stop the read by returning an error). `name` names it in errors.
Result<CopiedFile> read_hashed(int in, const std::string& name,
                               const std::function<Status(std::string_view)>& on_chunk) {
  ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto hash = Sha256::start();
  if (!hash) return hash.error();
  std::vector<char> buffer(kChunk);
  CopiedFile result;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read_failed", "cannot read " + name, errno);
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    if (auto s = on_chunk(chunk); !s) return s.error();
    hash->update(chunk);
    result.size += chunk.size();
  }
  result.sha256 = hash->hex_digest();
  return result;
}

Result<UniqueFd> open_to_read(const fs::path& path) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return errno_error("read_failed", "cannot read " + path.string(), errno);
  return in;
}

}  // namespace

Result<CopiedFile> copy_file_hashed(const fs::path& from, const fs::path& to, mode_t mode, const timespec& mtime,
                                    bool refuse_sqlite) {
  auto in = open_to_read(from);
  if (!in) return in.error();
  return copy_file_hashed(std::move(in.value()), from, to, mode, mtime, refuse_sqlite);
}

Result<CopiedFile> copy_file_hashed(UniqueFd in, const fs::path& from, const fs::path& to, mode_t mode,
                                    const timespec& mtime, bool refuse_sqlite) {
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error("write_failed", "cannot create " + to.string(), errno);
  bool first = true;
  auto copied = read_hashed(in.get(), from.string(), [&](std::string_view chunk) -> Status {
    if (refuse_sqlite && first && chunk.size() >= 16 && std::memcmp(chunk.data(), kSqliteHeader, 16) == 0) {
      return Error{kIsSqliteCode, from.string() + " is a SQLite database"};
    }
    first = false;
    return write_all(out.get(), chunk.data(), chunk.size(), to);
  });
  if (!copied) {
    if (copied.error().code == kIsSqliteCode) ::unlink(to.c_str());
    return copied.error();
  }
  if (auto s = set_mode_and_mtime(out.get(), to.string(), mode, mtime); !s) return s.error();
  if (::close(out.release()) != 0) return errno_error("write_failed", "cannot close " + to.string(), errno);
  return copied;
}

Result<CopiedFile> copy_fd_hashed(int in, int out, const std::string& from, const std::string& to, mode_t mode,
                                  const timespec& mtime) {
  auto copied =
      read_hashed(in, from, [&](std::string_view chunk) { return write_all(out, chunk.data(), chunk.size(), to); });
  if (!copied) return copied.error();
  if (auto s = set_mode_and_mtime(out, to, mode, mtime); !s) return s.error();
  return copied;
}

Result<CopiedFile> hash_file(const fs::path& path) {
  auto in = open_to_read(path);
  if (!in) return in.error();
  return read_hashed(in->get(), path.string(), [](std::string_view) { return ok_status(); });
}

Result<UniqueFd> open_beneath(int root, const std::string& root_name, const std::string& relative, int flags,
                              mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = -1;
  // EAGAIN: a rename elsewhere raced the lookup, and the kernel asks to retry.
  for (int tries = 0; tries < 100 && fd < 0; ++tries) {
    fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
    if (fd < 0 && errno != EINTR && errno != EAGAIN) break;
  }
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  std::string what = relative + " in " + root_name;
  if (err == ELOOP || err == EXDEV) {
    return errno_error("unsafe_path", "refused " + what + ": it is, or passes through, a symlink, or leads outside",
                       err);
  }
  if (err == ENOSYS) return errno_error("no_openat2", "cannot open " + what + " (openat2 needs Linux 5.6)", err);
  return errno_error("open_failed", "cannot open " + what, err);
}

Status fsync_path(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("sync_failed", "cannot open " + path.string(), errno);
  if (::fsync(fd.get()) != 0) return errno_error("sync_failed", "cannot fsync " + path.string(), errno);
  return ok_status();
}

Status sync_filesystem(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("sync_failed", "cannot open " + path.string(), errno);
  if (::syncfs(fd.get()) != 0)
    return errno_error("sync_failed", "cannot sync the file system of " + path.string(), errno);
  return ok_status();
}

Status set_mode_and_mtime(int fd, const std::string& name, mode_t mode, const timespec& mtime) {
  if (::fchmod(fd, mode & 0777) != 0) return errno_error("write_failed", "cannot chmod " + name, errno);
  timespec times[2] = {mtime, mtime};
  if (::futimens(fd, times) != 0) return errno_error("write_failed", "cannot set mtime of " + name, errno);
  return ok_status();
}

Status set_mode_and_mtime(const fs::path& path, mode_t mode, const timespec& mtime) {
  if (::chmod(path.c_str(), mode & 0777) != 0)
    return errno_error("write_failed", "cannot chmod " + path.string(), errno);
  timespec times[2] = {mtime, mtime};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error("write_failed", "cannot set mtime of " + path.string(), errno);
  }
  return ok_status();
}

}  // namespace agentron
