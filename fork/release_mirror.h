// The bare mirror of the fork's branches that `release` fetches into,
// <releases_dir>/.fork.git. releases_dir is writable by the user the agent's code runs
// as (a build script reaches it), so the mirror is trusted no more than the
// workspace's .git: it is checked right before each fetch, held open, and fetched
// into by a child process that may write only beneath it (fork/write_sandbox.h).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "fork/commands.h"
#include "fork/git_repo.h"

namespace agentron {

class ReleaseMirror {
 public:
  // Opens the mirror in the releases folder `releases_fd`, creating it if absent. A
  // mirror that is not a plain directory of this user's (a symlink, say), that would
  // send a write elsewhere (fork/git_dir_check.h), or that shares storage with the
  // upstream or the workspace (fork/local_repo.h) is set aside — renamed to
  // .fork.git.refused-<UTC>-<pid>, never written — and a new one is made; `warnings`
  // says what was wrong.
  static Result<ReleaseMirror> open(const ForkContext& ctx, int releases_fd, std::vector<std::string>& warnings);

  // GitRepo::fetch_from into the mirror, from a child process confined to writing
  // beneath it: the branches the fork advertised in that fetch. `foreign_owner`: `url`
  // is a local repository another user owns, which libgit2 — like git without
  // safe.directory — would refuse to open; the child alone reads it anyway.
  Result<std::vector<RemoteHead>> fetch(const std::string& url, const std::string& refspec,
                                        const Credentials& credentials, bool foreign_owner = false) const;

  // The mirror, to read commits and their ancestry. Objects are named by their hashes
  // (verified as they are read), so nothing the agent adds to it changes an answer
  // about a given commit.
  Result<GitRepo> open_for_reading() const;

 private:
  ReleaseMirror(UniqueFd dir, std::string shown) : dir_(std::move(dir)), shown_(std::move(shown)) {}
  // "/proc/self/fd/N": the opened directory, whatever happens to its name.
  std::string pinned_path() const { return "/proc/self/fd/" + std::to_string(dir_.get()); }

  UniqueFd dir_;
  std::string shown_;  // its path, for messages
};

}  // namespace agentron
