#include "fork/push_guard.h"

#include "fork/git_url.h"

namespace agentron {

std::string apply_rewrites(const std::string& url, const std::vector<UrlRewrite>& rules) {
  const UrlRewrite* best = nullptr;
  for (const auto& rule : rules) {
    if (!rule.prefix.empty() && url.rfind(rule.prefix, 0) == 0 && (!best || rule.prefix.size() > best->prefix.size())) {
      best = &rule;
    }
  }
  return best ? best->base + url.substr(best->prefix.size()) : url;
}

std::vector<std::string> effective_push_urls(const RemoteConfig& remote) {
  std::vector<std::string> targets;
  if (!remote.pushurls.empty()) {
    // git applies insteadOf to an explicit pushurl, never pushInsteadOf.
    for (const auto& url : remote.pushurls) targets.push_back(apply_rewrites(url, remote.instead_of));
    return targets;
  }
  for (const auto& url : remote.urls) {
    std::string pushed = apply_rewrites(url, remote.push_instead_of);
    targets.push_back(pushed != url ? pushed : apply_rewrites(url, remote.instead_of));
  }
  return targets;
}

std::string effective_fetch_url(const RemoteConfig& remote) {
  return remote.urls.empty() ? "" : apply_rewrites(remote.urls.front(), remote.instead_of);
}

GuardVerdict judge_push(const RemoteConfig& remote, const std::string& fork_url, const std::string& upstream_url) {
  std::string upstream = normalize_git_url(upstream_url);
  std::string fork = normalize_git_url(fork_url);
  if (fork == upstream) {
    return {false, "the configured fork " + redact_git_url(fork_url) + " is the upstream " +
                       redact_git_url(upstream_url) + "; set [fork] fork_url to the agent's own fork"};
  }
  auto targets = effective_push_urls(remote);
  if (targets.empty()) return {false, "remote '" + remote.name + "' has no URL to push to"};
  for (const auto& target : targets) {
    std::string normalized = normalize_git_url(target);
    if (normalized == upstream) {
      return {false, "refusing to push to the upstream " + redact_git_url(upstream_url) + ": remote '" + remote.name +
                         "' pushes to " + redact_git_url(target) + ", which is the upstream. Only the fork " +
                         redact_git_url(fork_url) + " may be pushed to"};
    }
    if (normalized != fork) {
      return {false, "refusing to push: remote '" + remote.name + "' pushes to " + redact_git_url(target) +
                         ", which is not the configured fork " + redact_git_url(fork_url) +
                         " (upstream: " + redact_git_url(upstream_url) + ")"};
    }
  }
  return {true, "remote '" + remote.name + "' pushes only to the fork " + redact_git_url(fork_url)};
}

}  // namespace agentron
