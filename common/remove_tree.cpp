#include "common/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace agentron {
namespace {

constexpr int kMaxDepth = 4096;

// Empties the folder open as `dir` (which it takes over), depth first.
int empty_folder(UniqueFd dir, int depth) {
  if (depth > kMaxDepth) return ELOOP;
  DIR* stream = ::fdopendir(dir.get());
  if (!stream) return errno;
  int fd = dir.release();
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(stream)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int error = 0;
  for (const auto& name : names) {
    if (::unlinkat(fd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) {
      error = errno;
      break;
    }
    // A folder — or it was one a moment ago: entered only by a no-follow open.
    UniqueFd child(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child.valid()) {
      if (errno == ENOTDIR || errno == ELOOP) {  // swapped for a file or a link: unlink that
        if (::unlinkat(fd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
      }
      error = errno;
      break;
    }
    if ((error = empty_folder(std::move(child), depth + 1)) != 0) break;
    if (::unlinkat(fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      error = errno;
      break;
    }
  }
  ::closedir(stream);
  return error;
}

}  // namespace

Status remove_tree(const std::filesystem::path& path) {
  std::filesystem::path parent = path.parent_path().empty() ? "." : path.parent_path();
  std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") return Error{"bad_path", "cannot remove " + path.string()};
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno == ENOENT ? ok_status() : errno_error("remove_failed", "cannot open " + parent.string(), errno);
  if (::unlinkat(dir.get(), name.c_str(), 0) == 0 || errno == ENOENT) return ok_status();
  if (errno != EISDIR && errno != EPERM) return errno_error("remove_failed", "cannot remove " + path.string(), errno);
  UniqueFd top(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.valid()) {
    if ((errno == ENOTDIR || errno == ELOOP) && (::unlinkat(dir.get(), name.c_str(), 0) == 0 || errno == ENOENT))
      return ok_status();
    return errno_error("remove_failed", "cannot open " + path.string(), errno);
  }
  if (int error = empty_folder(std::move(top), 0); error != 0)
    return errno_error("remove_failed", "cannot empty " + path.string(), error);
  if (::unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return errno_error("remove_failed", "cannot remove " + path.string(), errno);
  return ok_status();
}

}  // namespace agentron
