#include "fork/seal_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "common/unique_fd.h"
#include "fork/fork_errors.h"

namespace agentron {

namespace {

constexpr int kMaxDepth = 256;  // two descriptors a level: well within the default 1024

// Owns a DIR* (which owns its descriptor).
class DirStream {
 public:
  // Lists the directory `fd` (a new descriptor of it: `fd` stays the caller's).
  explicit DirStream(int fd) {
    UniqueFd own(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (own.valid() && (dir_ = ::fdopendir(own.get()))) own.release();
  }
  ~DirStream() {
    if (dir_) ::closedir(dir_);
  }
  DirStream(const DirStream&) = delete;
  DirStream& operator=(const DirStream&) = delete;
  bool valid() const { return dir_ != nullptr; }
  // The next name but "." and ".."; "" at the end.
  std::string next() {
    while (const dirent* entry = ::readdir(dir_)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") return name;
    }
    return "";
  }

 private:
  DIR* dir_ = nullptr;
};

std::string kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "of an unknown kind";
}

class Sealer {
 public:
  Sealer(uid_t builder, std::string shown) : builder_(builder), shown_(std::move(shown)) {}

  // The contents of `from` (at `path`, "" for the top) into `to`.
  Status copy_dir(int from, int to, const std::string& path, int depth) {
    if (depth > kMaxDepth) return refuse(path, "is nested deeper than " + std::to_string(kMaxDepth) + " folders");
    DirStream entries(from);
    if (!entries.valid()) return failed(path, "cannot list", errno);
    for (std::string name = entries.next(); !name.empty(); name = entries.next()) {
      if (auto s = copy_entry(from, to, name, path.empty() ? name : path + "/" + name, depth); !s) return s;
    }
    return ok_status();
  }

  // `from` itself must be the builder's, like everything beneath it.
  Status check_top(int from) {
    struct stat st {};
    if (::fstat(from, &st) != 0) return failed("", "cannot stat", errno);
    return owned_by_builder(st, "");
  }

 private:
  Status copy_entry(int from, int to, const std::string& name, const std::string& path, int depth) {
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failed(path, "cannot stat", errno);
    if (S_ISLNK(st.st_mode)) return copy_symlink(from, to, name, path);
    if (S_ISDIR(st.st_mode)) return copy_subdir(from, to, name, path, depth);
    if (S_ISREG(st.st_mode)) return copy_file(from, to, name, path);
    return refuse(path, "is " + kind_of(st.st_mode) + "; a release holds folders, files and symlinks only");
  }

  Status copy_symlink(int from, int to, const std::string& name, const std::string& path) {
    std::array<char, PATH_MAX> target{};
    ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
    if (n < 0) return failed(path, "cannot read the symlink", errno);
    if (static_cast<size_t>(n) == target.size()) return refuse(path, "is a symlink with a target too long");
    std::string text(target.data(), static_cast<size_t>(n));
    if (::symlinkat(text.c_str(), to, name.c_str()) != 0) return failed(path, "cannot recreate the symlink", errno);
    return ok_status();
  }

  Status copy_subdir(int from, int to, const std::string& name, const std::string& path, int depth) {
    // O_NOFOLLOW: a folder swapped for a symlink since the stat fails here, never leads out.
    UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid()) return failed(path, "cannot open the folder", errno);
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) return failed(path, "cannot stat", errno);
    if (auto s = owned_by_builder(st, path); !s) return s;
    // 0700 while it fills: nobody sees a partial folder.
    if (::mkdirat(to, name.c_str(), 0700) != 0) return failed(path, "cannot create the folder's copy", errno);
    UniqueFd out(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!out.valid()) return failed(path, "cannot open the folder's copy", errno);
    if (auto s = copy_dir(in.get(), out.get(), path, depth + 1); !s) return s;
    if (::fchmod(out.get(), 0755) != 0) return failed(path, "cannot set the folder's mode", errno);
    return ok_status();
  }

  Status copy_file(int from, int to, const std::string& name, const std::string& path) {
    // O_NONBLOCK: a fifo swapped in since the stat does not block the open (fstat below refuses it).
    UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!in.valid()) return failed(path, "cannot open", errno);
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) return failed(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode)) return refuse(path, "changed into " + kind_of(st.st_mode) + " while it was sealed");
    if (auto s = owned_by_builder(st, path); !s) return s;
    mode_t mode = (st.st_mode & S_IXUSR) ? 0755 : 0644;
    UniqueFd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return failed(path, "cannot create the copy", errno);
    if (auto s = copy_bytes(in.get(), out.get(), st.st_size, path); !s) return s;
    if (::fchmod(out.get(), mode) != 0) return failed(path, "cannot set the copy's mode", errno);
    return ok_status();
  }

  // At most `size` bytes (the size when it was opened): a writer that keeps appending
  // neither lengthens the seal nor gets its later bytes in. copy_file_range shares
  // extents where the file system can; read/write where it cannot.
  Status copy_bytes(int in, int out, off_t size, const std::string& path) {
    off_t done = 0;
    bool plain = false;
    while (done < size) {
      size_t want = static_cast<size_t>(size - done);
      ssize_t n = -1;
      if (!plain) {
        n = ::copy_file_range(in, nullptr, out, nullptr, want, 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
          plain = true;
          continue;
        }
      } else {
        n = copy_some(in, out, want);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failed(path, "cannot copy", errno);
      if (n == 0) break;  // truncated meanwhile: what is there is copied
      done += n;
    }
    return ok_status();
  }

  static ssize_t copy_some(int in, int out, size_t want) {
    std::array<char, 65536> buf{};
    ssize_t n = ::read(in, buf.data(), std::min(want, buf.size()));
    if (n <= 0) return n;
    for (ssize_t written = 0; written < n;) {
      ssize_t w = ::write(out, buf.data() + written, static_cast<size_t>(n - written));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return -1;
      written += w;
    }
    return n;
  }

  Status owned_by_builder(const struct stat& st, const std::string& path) {
    if (st.st_uid == builder_) return ok_status();
    std::string whose = "uid " + std::to_string(st.st_uid) + ", not the build's uid " + std::to_string(builder_);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
      return refuse(path, "is a hard link to a file of " + whose + "; it is not copied as root");
    return refuse(path, "belongs to " + whose + "; it is not copied as root");
  }

  std::string where(const std::string& path) const { return path.empty() ? shown_ : shown_ + "/" + path; }
  Error refuse(const std::string& path, const std::string& why) const {
    return Error{fork_error::seal_refused, "the release was not sealed: " + where(path) + " " + why};
  }
  Error failed(const std::string& path, const std::string& what, int err) const {
    return errno_error(fork_error::seal_refused, "the release was not sealed: " + what + " " + where(path), err);
  }

  uid_t builder_;
  std::string shown_;
};

}  // namespace

Status seal_tree(int from_dir, int to_dir, uid_t builder, const std::string& shown) {
  Sealer sealer(builder, shown);
  if (auto s = sealer.check_top(from_dir); !s) return s;
  return sealer.copy_dir(from_dir, to_dir, "", 0);
}

}  // namespace agentron
