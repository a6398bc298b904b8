#include "fork/workspace.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "fork/fork_errors.h"
#include "fork/git_dir_check.h"
#include "fork/git_url.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

Error redirected(const ForkContext& ctx, const std::string& what) {
  return Error{fork_error::workspace_redirected,
               "the workspace " + ctx.fork.workspace.string() + " is not its own repository: " + what +
                   ". agentron-fork writes only into the workspace's own .git directory; nothing was changed"};
}

// What a symlink or a gitdir: file at `name` points at, for the message.
std::string pointed_at(int dir_fd, const char* name, const struct stat& st) {
  std::string target(4096, '\0');
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = ::readlinkat(dir_fd, name, target.data(), target.size());
    return "a symlink to " + (n > 0 ? target.substr(0, static_cast<size_t>(n)) : std::string("?"));
  }
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  ssize_t n = fd.valid() ? ::read(fd.get(), target.data(), target.size()) : -1;
  std::string text = n > 0 ? target.substr(0, static_cast<size_t>(n)) : "";
  return "a file (" + text.substr(0, text.find('\n')) + ")";
}

// A real directory at `name` in `dir_fd`, or why not.
Result<FileId> real_dir_at(const ForkContext& ctx, int dir_fd, const char* name, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Error{fork_error::no_workspace, "no " + shown + " in the workspace " + ctx.fork.workspace.string() +
                                               "; run `agentron-fork clone-or-pull`"};
  }
  if (!S_ISDIR(st.st_mode)) return redirected(ctx, shown + " is " + pointed_at(dir_fd, name, st));
  return FileId{st.st_dev, st.st_ino};
}

Result<FileId> id_of_path(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(fork_error::workspace_redirected, path.string(), errno);
  return FileId{st.st_dev, st.st_ino};
}

// The repository libgit2 opened is the directory that was checked: the identities of
// its git dir, common dir and work tree, read from the paths libgit2 will use.
Status check_opened(const ForkContext& ctx, const GitRepo& repo, const FileId& git_dir, const FileId& workdir) {
  if (repo.is_bare()) return redirected(ctx, ".git/config makes it bare");
  auto opened_git = id_of_path(repo.git_dir());
  auto opened_common = id_of_path(repo.common_dir());
  auto opened_workdir = id_of_path(repo.workdir());
  if (!opened_git || *opened_git != git_dir || !opened_common || *opened_common != git_dir) {
    return redirected(
        ctx, "libgit2 opened " + repo.common_dir().string() + ", not " + (ctx.fork.workspace / ".git").string());
  }
  if (!opened_workdir || *opened_workdir != workdir) {
    return redirected(ctx, "its work tree is " + repo.workdir().string() + " (core.worktree)");
  }
  return ok_status();
}

Status check_own_git_dir(const ForkContext& ctx, int workspace_fd, const UniqueFd& git_fd) {
  // Checked last thing before the write sandbox is set up: a symlink swapped in later
  // is stopped by the sandbox; a hard link is not (docs/security.md, limits).
  if (std::string problem = write_redirection_in(git_fd.get()); !problem.empty())
    return redirected(ctx, ".git/" + problem);
  auto objects = real_dir_at(ctx, git_fd.get(), "objects", ".git/objects");
  if (!objects) return objects.error();
  auto refs = real_dir_at(ctx, git_fd.get(), "refs", ".git/refs");
  if (!refs) return refs.error();
  auto git_id = file_id(git_fd.get(), ".git");
  if (!git_id) return git_id.error();
  const LocalRepo* upstream = ctx.targets.upstream_repo();
  if (!upstream) return ok_status();
  RepoId own{*git_id, *git_id, *objects, *refs};
  if (own.shares_storage_with(upstream->id())) {
    return redirected(ctx, "its .git shares storage with the upstream " + upstream->shown().string());
  }
  auto workspace_id = file_id(workspace_fd, "the workspace");
  if (workspace_id && upstream->lies_beneath(*workspace_id)) {
    return redirected(ctx, "the upstream " + upstream->shown().string() + " lies inside it");
  }
  return ok_status();
}

Status check_origin_is_fork(const ForkContext& ctx, GitRepo& repo) {
  auto origin = repo.remote_config("origin");
  if (!origin) return origin.error();
  std::string fetched = effective_fetch_url(*origin);
  TargetVerdict v = ctx.targets.classify(fetched);
  if (v.kind == TargetKind::fork) return ok_status();
  return Error{fork_error::workspace_not_fork, "the workspace's origin is " + redact_git_url(fetched) + v.detail +
                                                   (v.kind == TargetKind::upstream ? " — the upstream" : "") +
                                                   ", not the fork " + redact_git_url(ctx.fork.fork_url) +
                                                   "; the agent works only in a clone of its fork (upstream: " +
                                                   redact_git_url(ctx.fork.upstream_url) + ")"};
}

}  // namespace

Result<UniqueFd> open_workspace_dir(const ForkContext& ctx) {
  UniqueFd dir(::open(ctx.fork.workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    return Error{fork_error::no_workspace,
                 "no workspace at " + ctx.fork.workspace.string() + "; run `agentron-fork clone-or-pull`"};
  }
  return dir;
}

Result<Workspace> open_workspace(const ForkContext& ctx) {
  auto dir = open_workspace_dir(ctx);
  if (!dir) return dir.error();
  auto git_id = real_dir_at(ctx, dir->get(), ".git", ".git");
  if (!git_id) return git_id.error();
  UniqueFd git_fd(::openat(dir->get(), ".git", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!git_fd.valid()) return redirected(ctx, ".git cannot be opened");
  if (auto s = check_own_git_dir(ctx, dir->get(), git_fd); !s) return s.error();
  auto repo = GitRepo::open(ctx.fork.workspace);
  if (!repo) return Error{fork_error::no_workspace, repo.error().message};
  auto workspace_id = file_id(dir->get(), "the workspace");
  auto opened_git_id = file_id(git_fd.get(), ".git");
  if (!workspace_id || !opened_git_id || *opened_git_id != *git_id) return redirected(ctx, ".git changed while opened");
  if (auto s = check_opened(ctx, *repo, *git_id, *workspace_id); !s) return s.error();
  if (auto s = check_origin_is_fork(ctx, *repo); !s) return s.error();
  return Workspace{std::move(*dir), std::move(*repo)};
}

}  // namespace agentron
