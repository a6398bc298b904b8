// Where a local git remote really is. A path or file:// URL is resolved the way git
// resolves a push target (connect.c's URL parsing, enter_repo()'s ".git" suffixes,
// `gitdir:` files, the `commondir` file, symlinks) to the repository that is there,
// held open and identified by device and inode — not by the text of its path, which
// an agent that can edit files can make mean anything.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

// A file or directory by identity: equal iff it is the same inode on the same device.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

// Where a repository's writes land: a push or a branch writes refs under common_dir/refs
// (or packed-refs beside it) and objects under common_dir/objects.
struct RepoId {
  FileId git_dir, common_dir, objects, refs;
  // True if a write into one can land in the other: any of the four is shared.
  bool shares_storage_with(const RepoId& other) const;
};

// The path git would use for a local remote URL, or nullopt for a network URL
// (https, ssh, git, the scp form). As git 2.39 parses it: file://HOST/PATH and
// file://localhost/PATH are /PATH (the host is ignored), percent-escapes in a file://
// URL are decoded, a scheme-less path is used as is (relative paths too).
std::optional<std::string> local_path_of_url(const std::string& url);

// A resolved local repository, its common dir held open: the directory that was
// checked is the directory that is written to (pinned_path()), whatever happens to
// the path it was found by.
class LocalRepo {
 public:
  LocalRepo(UniqueFd common_dir, RepoId id, std::filesystem::path shown)
      : common_dir_(std::move(common_dir)), id_(id), shown_(std::move(shown)) {}

  const RepoId& id() const { return id_; }
  int common_dir_fd() const { return common_dir_.get(); }
  // "/proc/self/fd/N": a path to the opened common dir that no rename or symlink swap
  // of the original path can redirect. libgit2 resolves it to the directory's real path.
  std::string pinned_path() const;
  // The common dir's real path, for messages.
  const std::filesystem::path& shown() const { return shown_; }
  // True if `dir` is the common dir or one of its ancestors.
  bool lies_beneath(const FileId& dir) const;

 private:
  UniqueFd common_dir_;
  RepoId id_;
  std::filesystem::path shown_;
};

// Resolves `path` (from local_path_of_url) as git's enter_repo() does: "~" expanded,
// relative to `base`, then the first of PATH/.git, PATH, PATH.git/.git, PATH.git that
// is a git directory or a `gitdir:` file; then its `commondir`. Fails if nothing
// there is a repository, or the common dir itself redirects again (a `commondir` in
// it, which libgit2 would follow and git would not).
Result<LocalRepo> resolve_local_repo(const std::string& path, const std::filesystem::path& base);

// The git directory `git_dir` (opened by the caller), identified as resolve_local_repo()
// identifies what it finds: its `commondir` followed, once. `shown` names it in errors.
Result<LocalRepo> identify_git_dir(UniqueFd git_dir, const std::string& shown);

// The identity of an open file or directory (fstat).
Result<FileId> file_id(int fd, const std::string& what);

// True if the directory `fd` is `dir` or lies somewhere beneath it (walking up "..").
bool is_at_or_beneath(int fd, const FileId& dir);

}  // namespace agentron
