#include "common/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <vector>

#include "common/unique_fd.h"

namespace agentron {
namespace {

constexpr int kMaxDepth = 4096;
constexpr int kPasses = 5;
constexpr const char* kCode = "remove_failed";

std::vector<std::string> names_in(int dir) {
  std::vector<std::string> names;
  int fd = ::dup(dir);
  DIR* stream = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!stream) {
    if (fd >= 0) ::close(fd);
    return names;
  }
  while (dirent* entry = ::readdir(stream)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(stream);
  return names;
}

// Empties the folder open as `dir`, depth first.
Status empty_folder(int dir, const std::string& shown, int depth) {
  if (depth > kMaxDepth) return Error{kCode, shown + " is nested too deep to remove"};
  for (const auto& name : names_in(dir)) {
    if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) return errno_error(kCode, "cannot remove " + shown + "/" + name, errno);
    // A folder — or it was one a moment ago: entered only by a no-follow open.
    UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) {
      // Swapped for a file or a symlink since: removed as that, unfollowed.
      if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) continue;
      return errno_error(kCode, "cannot remove " + shown + "/" + name, errno);
    }
    if (auto s = empty_folder(sub.get(), shown + "/" + name, depth + 1); !s) return s;
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT && errno != ENOTEMPTY)
      return errno_error(kCode, "cannot remove " + shown + "/" + name, errno);
  }
  return ok_status();
}

}  // namespace

Status remove_tree_at(int parent_dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return Error{kCode, "cannot remove '" + name + "'"};
  for (int pass = 0; pass < kPasses; ++pass) {
    if (::unlinkat(parent_dir, name.c_str(), 0) == 0 || errno == ENOENT) return ok_status();
    if (errno != EISDIR && errno != EPERM) return errno_error(kCode, "cannot remove " + name, errno);
    UniqueFd dir(::openat(parent_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) continue;  // swapped for a file or a symlink: the next pass unlinks it
    if (auto s = empty_folder(dir.get(), name, 0); !s) return s;
    if (::unlinkat(parent_dir, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return ok_status();
    if (errno != ENOTEMPTY) return errno_error(kCode, "cannot remove " + name, errno);
  }
  return Error{kCode, "cannot remove " + name + ": something keeps writing into it"};
}

Status remove_tree(const std::filesystem::path& path) {
  std::filesystem::path parent = path.parent_path().empty() ? "." : path.parent_path();
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno == ENOENT ? ok_status() : errno_error(kCode, "cannot open " + parent.string(), errno);
  if (auto s = remove_tree_at(dir.get(), path.filename().string()); !s)
    return Error{s.error().code, s.error().message + " (in " + parent.string() + ")"};
  return ok_status();
}

}  // namespace agentron
