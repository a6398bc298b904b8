// The one wrapper around libgit2 (docs/design.md §2: only fork/ includes <git2.h>). RAII
// handles, errors as values with libgit2's message, credentials only via a callback
// that the caller arms for the fork.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "fork/push_guard.h"

struct git_repository;

namespace agentron {

// libgit2's global state, for the life of the process.
class GitLibrary {
 public:
  GitLibrary();
  ~GitLibrary();

  // Reads the user's own config (~/.gitconfig, ~/.config/git/config) from `home` only —
  // "" for none — instead of where $HOME and $XDG_CONFIG_HOME say, which came from
  // whoever started this process (root, before a drop to the app's user). The system
  // config (/etc/gitconfig) is left as libgit2 finds it.
  Status read_user_config_from(const std::string& home);
  GitLibrary(const GitLibrary&) = delete;
  GitLibrary& operator=(const GitLibrary&) = delete;
};

// A token for https (sent as x-access-token:<token>) or, over ssh, the ssh agent.
struct Credentials {
  std::string token;
};

struct Identity {
  std::string name;
  std::string email;
};

// A branch a remote advertised, and the commit it points at.
struct RemoteHead {
  std::string name;    // without refs/heads/
  std::string commit;  // full id
};

struct FastForward {
  std::string from, to;  // commit ids
  bool changed() const { return from != to; }
};

class GitRepo {
 public:
  static Result<GitRepo> open(const std::filesystem::path& path);
  // Opens the bare repository at `path`, creating it if absent.
  static Result<GitRepo> open_or_init_bare(const std::filesystem::path& path);
  // Opens the bare repository at `path`; never creates one.
  static Result<GitRepo> open_bare(const std::filesystem::path& path);
  // Clones `url` (the fork) into `path`, checking out `branch` (empty: the default).
  static Result<GitRepo> clone(const std::string& url, const std::filesystem::path& path, const std::string& branch,
                               const Credentials& credentials);
  // What a remote URL advertises (remote ls): its branches and their commits, its default branch.
  struct RemoteBranches {
    std::vector<RemoteHead> branches;
    std::string default_branch;
  };
  static Result<RemoteBranches> list_remote(const std::string& url, const Credentials& credentials);

  GitRepo(GitRepo&&) noexcept;
  GitRepo& operator=(GitRepo&&) noexcept;
  ~GitRepo();

  std::vector<std::string> remote_names();
  // What git config says about a remote: urls, pushurls, insteadOf rules.
  Result<RemoteConfig> remote_config(const std::string& name);
  Status add_remote(const std::string& name, const std::string& url);
  Status set_config(const std::string& key, const std::string& value);

  struct Change {
    std::string path;
    bool deleted = false;
  };
  // Modified, staged, deleted or untracked files (ignored ones excluded): one walk.
  Result<std::vector<Change>> changes();
  Result<std::vector<std::string>> dirty_paths();
  Result<std::string> current_branch();
  Result<std::string> head_commit();
  // Full id of a commit given by a (unique prefix of a) SHA or a ref name.
  Result<std::string> resolve_commit(const std::string& spec);
  // True if `commit` is `tip` or one of its ancestors.
  Result<bool> is_ancestor(const std::string& commit, const std::string& tip);

  // Fetches `refspec` from exactly `url` (an in-memory remote: no insteadOf, no
  // redirects), pruning what the remote no longer has, and returns the branches the
  // remote advertised in that same conversation.
  Result<std::vector<RemoteHead>> fetch_from(const std::string& url, const std::string& refspec,
                                             const Credentials& credentials);
  // Fast-forwards the current branch to `target` (a ref or commit); refuses if it
  // has diverged or the tree is dirty. Nothing changes on refusal.
  Result<FastForward> fast_forward(const std::string& target);
  // Merges `target` into the current branch (fast-forward or a merge commit). On a
  // conflict the index, tree and HEAD are put back exactly as they were and the
  // conflicting paths are returned in the error message.
  Result<FastForward> merge(const std::string& target, const Identity& identity);

  Status create_branch(const std::string& name);
  // Stages exactly `changes` (from changes(), maybe filtered) and commits them.
  Result<std::string> commit(const std::string& message, const std::vector<Change>& changes, const Identity& identity);
  // Pushes refs/heads/<branch> to exactly `url`: an in-memory remote that ignores
  // every insteadOf/pushurl in the repository's config. Server-side rejections are
  // errors.
  Status push_branch(const std::string& url, const std::string& branch, const Credentials& credentials);
  // Writes refs/remotes/<remote>/<branch> = <commit> (after a successful push).
  Status set_remote_ref(const std::string& remote, const std::string& branch, const std::string& commit);
  // A clean checkout of `commit` into the new folder `dest` (no .git).
  Status export_tree(const std::string& commit, const std::filesystem::path& dest);

  std::filesystem::path workdir() const;
  // Where libgit2 reads and writes: the git dir, the common dir (refs, objects), and
  // whether there is a work tree at all.
  std::filesystem::path git_dir() const;
  std::filesystem::path common_dir() const;
  bool is_bare() const;

 private:
  explicit GitRepo(git_repository* repo) : repo_(repo) {}
  git_repository* repo_ = nullptr;
};

// True if `name` is a valid branch name (git check-ref-format --branch).
bool valid_branch_name(const std::string& name);

}  // namespace agentron
