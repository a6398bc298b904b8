// The push guard: where a push would really go, and whether that is allowed. It runs
// in-process before every push (libgit2 never runs hooks) and from the pre-push hook
// that `install-hooks` puts in the workspace for a plain `git push`.
#pragma once

#include <string>
#include <utility>
#include <vector>

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

struct GuardVerdict {
  bool allowed = false;
  std::string reason;  // names the upstream when refused because of it
};

// Allowed only if every target is the configured fork and none is the upstream.
GuardVerdict judge_push(const RemoteConfig& remote, const std::string& fork_url, const std::string& upstream_url);

}  // namespace agentron
