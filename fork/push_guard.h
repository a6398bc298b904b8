// The push guard: where a push would really go, and whether that is allowed. It runs
// in-process before every push (libgit2 never runs hooks) and from the pre-push hook
// that `install-hooks` puts in the workspace for a plain `git push`. A target is judged
// by what it is, not how it is spelled: a local one by the identity of the repository
// git would write to (fork/local_repo.h), a network one by its exact origin.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "fork/local_repo.h"

namespace agentron {

// url.<base>.insteadOf / pushInsteadOf rules: (prefix to replace, base to put there).
struct UrlRewrite {
  std::string prefix;
  std::string base;
};

// What git config says about one remote.
struct RemoteConfig {
  std::string name;
  std::vector<std::string> urls;      // remote.<name>.url (git pushes to all of them)
  std::vector<std::string> pushurls;  // remote.<name>.pushurl (if set, instead of urls)
  std::vector<UrlRewrite> instead_of;
  std::vector<UrlRewrite> push_instead_of;
};

// Longest-prefix rewrite, as git does it.
std::string apply_rewrites(const std::string& url, const std::vector<UrlRewrite>& rules);

// Every URL a `git push <remote>` would write to, by git's rules: the pushurls with
// insteadOf applied; or else each url with pushInsteadOf applied if one matches, or
// insteadOf otherwise.
std::vector<std::string> effective_push_urls(const RemoteConfig& remote);
std::string effective_fetch_url(const RemoteConfig& remote);

enum class TargetKind { fork, upstream, other };

struct TargetVerdict {
  TargetKind kind = TargetKind::other;
  std::string detail;  // what the target resolved to, or why it is no repository
};

// The fork and the upstream as the guard tells them apart. The upstream, when local,
// is identified once (at start) and held open; the fork is resolved anew each time
// it is asked about, so a swap after start cannot make it look like something else.
class GuardTargets {
 public:
  // `base`: the folder a relative path is resolved from (the workspace: git pushes from there).
  static GuardTargets identify(std::string fork_url, std::string upstream_url, std::filesystem::path base);

  // The upstream (any scheme or port reaching the same host and path, or a local path
  // sharing the upstream's storage), the fork (network: the same scheme, host, port
  // and path; local: the same repository), or neither.
  TargetVerdict classify(const std::string& url) const;

  // The local fork, resolved now and held open. REQUIRES: the fork is a local path.
  // Fails if it is no repository or shares storage with the upstream.
  Result<LocalRepo> open_local_fork() const;

  bool fork_is_local() const;
  const std::string& fork_url() const { return fork_url_; }
  const std::string& upstream_url() const { return upstream_url_; }
  // The local upstream, held open since identify(); null for a network upstream or one
  // that is not a repository (then upstream_problem() says why).
  const LocalRepo* upstream_repo() const { return upstream_ ? &*upstream_ : nullptr; }
  const std::string& upstream_problem() const { return upstream_problem_; }

 private:
  std::string fork_url_, upstream_url_;
  std::filesystem::path base_;
  std::optional<LocalRepo> upstream_;
  std::string upstream_problem_;
};

struct GuardVerdict {
  bool allowed = false;
  std::string reason;  // names the upstream when refused because of it
};

// Allowed only if every target is the fork and none is the upstream.
GuardVerdict judge_push(const RemoteConfig& remote, const GuardTargets& targets);

}  // namespace agentron
