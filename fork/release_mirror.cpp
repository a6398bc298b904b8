#include "fork/release_mirror.h"

#include <fcntl.h>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "common/utc_time.h"
#include "fork/fork_errors.h"
#include "fork/git_dir_check.h"
#include "fork/local_repo.h"
#include "fork/write_sandbox.h"

namespace agentron {

namespace {

constexpr const char* kMirror = ".fork.git";

// What the mirror's entry in the releases folder is, when it may not be used.
struct Inspection {
  UniqueFd dir;         // valid: a directory of ours, safe to fetch into
  std::string problem;  // else why not ("" and no dir: there is none)
};

std::string symlink_target(int dir_fd, const char* name) {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(dir_fd, name, target.data(), target.size());
  return n > 0 ? target.substr(0, static_cast<size_t>(n)) : "?";
}

// Storage the mirror must not share: a fetch into it would write there.
std::string shared_storage(const ForkContext& ctx, int dir) {
  struct stat head {};
  if (::fstatat(dir, "HEAD", &head, AT_SYMLINK_NOFOLLOW) != 0) return "";  // empty: the fetch initialises it
  auto mirror = identify_git_dir(UniqueFd(::openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)), kMirror);
  if (!mirror) return "it is not a repository (" + mirror.error().message + ")";
  if (const LocalRepo* upstream = ctx.targets.upstream_repo()) {
    if (mirror->id().shares_storage_with(upstream->id()))
      return "it shares storage with the upstream " + upstream->shown().string();
    if (upstream->lies_beneath(mirror->id().git_dir)) return "the upstream lies inside it";
  }
  auto workspace = resolve_local_repo(ctx.fork.workspace.string(), "/");
  if (workspace && mirror->id().shares_storage_with(workspace->id()))
    return "it shares storage with the workspace " + ctx.fork.workspace.string();
  return "";
}

Inspection inspect(const ForkContext& ctx, int releases_fd) {
  struct stat st {};
  if (::fstatat(releases_fd, kMirror, &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISLNK(st.st_mode)) return {UniqueFd(), "it is a symlink to " + symlink_target(releases_fd, kMirror)};
  if (!S_ISDIR(st.st_mode)) return {UniqueFd(), "it is not a directory"};
  if (st.st_uid != ::geteuid()) return {UniqueFd(), "it belongs to uid " + std::to_string(st.st_uid)};
  UniqueFd dir(::openat(releases_fd, kMirror, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  auto id = dir.valid() ? file_id(dir.get(), kMirror) : Result<FileId>(Error{});
  if (!id || *id != FileId{st.st_dev, st.st_ino}) return {UniqueFd(), "it was replaced while it was opened"};
  if (std::string problem = write_redirection_in(dir.get()); !problem.empty()) return {UniqueFd(), problem};
  if (std::string problem = shared_storage(ctx, dir.get()); !problem.empty()) return {UniqueFd(), problem};
  return {std::move(dir), ""};
}

// Renames the mirror's entry out of the way; nothing in it (or behind it) is touched.
Status set_aside(int releases_fd, const std::string& shown, const std::string& problem,
                 std::vector<std::string>& warnings) {
  std::string aside = std::string(kMirror) + ".refused-" + utc_now_compact() + "-" + std::to_string(::getpid());
  if (::renameat(releases_fd, kMirror, releases_fd, aside.c_str()) != 0)
    return errno_error(fork_error::releases_dir_unsafe, "cannot set aside " + shown + " (" + problem + ")", errno);
  warnings.push_back("the release mirror " + shown + " was set aside as " + aside + ", never written: " + problem +
                     ". A new one was made (a full fetch)");
  return ok_status();
}

}  // namespace

Result<ReleaseMirror> ReleaseMirror::open(const ForkContext& ctx, int releases_fd, std::vector<std::string>& warnings) {
  std::string shown = (ctx.fork.releases_dir / kMirror).string();
  Inspection found = inspect(ctx, releases_fd);
  if (found.dir.valid()) return ReleaseMirror(std::move(found.dir), shown);
  if (!found.problem.empty()) {
    if (auto s = set_aside(releases_fd, shown, found.problem, warnings); !s) return s.error();
  }
  // mkdirat() creates a directory or fails: it never follows a symlink planted meanwhile.
  if (::mkdirat(releases_fd, kMirror, 0755) != 0)
    return errno_error(fork_error::releases_dir_unsafe, "cannot create " + shown, errno);
  UniqueFd dir(::openat(releases_fd, kMirror, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return errno_error(fork_error::releases_dir_unsafe, "cannot open " + shown, errno);
  return ReleaseMirror(std::move(dir), shown);
}

Result<std::vector<RemoteHead>> ReleaseMirror::fetch(const std::string& url, const std::string& refspec,
                                                     const Credentials& credentials, bool foreign_owner) const {
  std::string path = pinned_path();
  auto answer = run_confined({dir_.get()}, shown_, [&]() -> Result<std::string> {
    // In this child only: it reads the repository's objects (named by their hashes),
    // runs nothing its config names, and writes only beneath the mirror.
    if (foreign_owner) git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
    auto mirror = GitRepo::open_or_init_bare(path);
    if (!mirror) return mirror.error();
    auto heads = mirror->fetch_from(url, refspec, credentials);
    if (!heads) return heads.error();
    std::string lines;
    for (const auto& head : *heads) lines += head.commit + " " + head.name + "\n";
    return lines;
  });
  if (!answer) return answer.error();
  std::vector<RemoteHead> heads;
  std::istringstream lines(*answer);
  for (std::string line; std::getline(lines, line);) {
    auto space = line.find(' ');
    if (space != std::string::npos) heads.push_back({line.substr(space + 1), line.substr(0, space)});
  }
  return heads;
}

Result<GitRepo> ReleaseMirror::open_for_reading() const { return GitRepo::open_bare(pinned_path()); }

}  // namespace agentron
