#include "fork/git_dir_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string_view>

#include "common/unique_fd.h"

namespace agentron {

namespace {

constexpr int kMaxDepth = 64;

// The files libgit2 rewrites at the top of a git directory.
constexpr std::array<std::string_view, 10> kRewrittenFiles = {"HEAD",       "config",    "packed-refs", "index",
                                                              "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD",  "MERGE_MSG",
                                                              "MERGE_MODE", "shallow"};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_rewritten_file(std::string_view path) {
  for (auto name : kRewrittenFiles) {
    if (path == name) return true;
  }
  return false;
}

// Where libgit2 creates or rewrites files by path: a symlink there is a redirection.
bool symlink_matters(std::string_view path) {
  return path == "refs" || path == "logs" || path == "objects" || path == "hooks" || starts_with(path, "refs/") ||
         starts_with(path, "logs/") || is_rewritten_file(path) ||
         ((starts_with(path, "objects/") || starts_with(path, "hooks/")) &&
          path.find('/', path.find('/') + 1) == std::string_view::npos);
}

// Object files and packs may be hard links: a local clone (git's, libgit2's) links the
// source's objects instead of copying them. That is safe because neither git nor
// libgit2 ever writes an object file in place — a new object or pack is written under
// a temporary name and renamed — so another repository's object is only ever read.
bool is_object_store(std::string_view path) {
  return path == "objects" ||
         (starts_with(path, "modules/") && path.size() > 8 && path.substr(path.size() - 8) == "/objects");
}

// What is in a folder of the git directory, and what is wrong with the first entry that is.
enum class Look { everything, symlinks_only };

std::string look_at(int parent_fd, const std::string& name, const std::string& path, int depth, Look look);

// The entries of the folder `dir_fd` (at `path`, "" for the top).
std::string look_inside(int dir_fd, const std::string& path, int depth, Look look) {
  if (depth > kMaxDepth) return path + " is nested deeper than " + std::to_string(kMaxDepth) + " folders";
  UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* dir = fd.valid() ? ::fdopendir(fd.get()) : nullptr;
  if (!dir) return "";  // gone or unreadable: nothing there for libgit2 to write through either
  fd.release();
  std::string found;
  while (const dirent* entry = ::readdir(dir)) {
    std::string child = entry->d_name;
    if (child == "." || child == "..") continue;
    found = look_at(::dirfd(dir), child, path.empty() ? child : path + "/" + child, depth, look);
    if (!found.empty()) break;
  }
  ::closedir(dir);
  return found;
}

std::string look_at(int parent_fd, const std::string& name, const std::string& path, int depth, Look look) {
  struct stat st {};
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return "";
  if (S_ISLNK(st.st_mode)) return symlink_matters(path) ? path + " is a symlink" : "";
  if (look == Look::symlinks_only) return "";
  if (!S_ISDIR(st.st_mode)) {
    if (st.st_nlink > 1) return path + " is a hard link (" + std::to_string(st.st_nlink) + " names)";
    return "";
  }
  UniqueFd dir(::openat(parent_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return "";  // swapped since the stat: the write sandbox covers that race
  // In an object store only its folders matter (objects/xx, pack): a symlink there is
  // where a new object would go.
  return look_inside(dir.get(), path, depth + 1, is_object_store(path) ? Look::symlinks_only : Look::everything);
}

}  // namespace

std::string write_redirection_in(int git_dir_fd) {
  struct stat st {};
  if (::fstatat(git_dir_fd, "commondir", &st, AT_SYMLINK_NOFOLLOW) == 0)
    return "commondir sends its refs and objects elsewhere";
  return look_inside(git_dir_fd, "", 0, Look::everything);
}

}  // namespace agentron
