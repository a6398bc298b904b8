#include "fork/push_guard.h"

#include "fork/fork_errors.h"
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

GuardTargets GuardTargets::identify(std::string fork_url, std::string upstream_url, std::filesystem::path base) {
  GuardTargets t;
  t.fork_url_ = std::move(fork_url);
  t.upstream_url_ = std::move(upstream_url);
  t.base_ = std::move(base);
  if (auto path = local_path_of_url(t.upstream_url_)) {
    auto repo = resolve_local_repo(*path, t.base_);
    if (repo)
      t.upstream_.emplace(std::move(*repo));
    else
      t.upstream_problem_ = repo.error().message;
  }
  return t;
}

bool GuardTargets::fork_is_local() const { return local_path_of_url(fork_url_).has_value(); }

Result<LocalRepo> GuardTargets::open_local_fork() const {
  auto fork = resolve_local_repo(local_path_of_url(fork_url_).value_or(""), base_);
  if (!fork) return fork.error();
  if (upstream_ && fork->id().shares_storage_with(upstream_->id())) {
    return Error{fork_error::fork_is_upstream, "the fork " + redact_git_url(fork_url_) + " resolves to " +
                                                   fork->shown().string() + ", the upstream's repository (" +
                                                   redact_git_url(upstream_url_) + ")"};
  }
  return fork;
}

TargetVerdict GuardTargets::classify(const std::string& url) const {
  if (auto target = parse_network_url(url)) {
    auto upstream = parse_network_url(upstream_url_);
    if (upstream && target->same_repository(*upstream)) return {TargetKind::upstream, ""};
    auto fork = parse_network_url(fork_url_);
    if (fork && target->same_origin(*fork) && target->path == fork->path) return {TargetKind::fork, ""};
    return {TargetKind::other, ""};
  }
  auto target = resolve_local_repo(local_path_of_url(url).value_or(""), base_);
  if (!target) return {TargetKind::other, " (" + target.error().message + ")"};
  std::string resolved = " (resolves to " + target->shown().string() + ")";
  if (upstream_ && target->id().shares_storage_with(upstream_->id())) return {TargetKind::upstream, resolved};
  if (!fork_is_local()) return {TargetKind::other, resolved};
  auto fork = open_local_fork();
  if (fork && fork->id().common_dir == target->id().common_dir) return {TargetKind::fork, resolved};
  return {TargetKind::other, resolved};
}

GuardVerdict judge_push(const RemoteConfig& remote, const GuardTargets& targets) {
  const std::string fork = redact_git_url(targets.fork_url());
  const std::string upstream = redact_git_url(targets.upstream_url());
  if (auto self = targets.classify(targets.fork_url()); self.kind != TargetKind::fork) {
    return {false, "the configured fork " + fork +
                       (self.kind == TargetKind::upstream ? " is the upstream "
                                                          : " is not a repository that can be pushed to; upstream: ") +
                       upstream + self.detail + "; set [fork] fork_url to the agent's own fork"};
  }
  auto urls = effective_push_urls(remote);
  if (urls.empty()) return {false, "remote '" + remote.name + "' has no URL to push to"};
  for (const auto& url : urls) {
    TargetVerdict v = targets.classify(url);
    if (v.kind == TargetKind::upstream) {
      return {false, "refusing to push to the upstream " + upstream + ": remote '" + remote.name + "' pushes to " +
                         redact_git_url(url) + v.detail + ", which is the upstream. Only the fork " + fork +
                         " may be pushed to"};
    }
    if (v.kind == TargetKind::other) {
      return {false, "refusing to push: remote '" + remote.name + "' pushes to " + redact_git_url(url) + v.detail +
                         ", which is not the configured fork " + fork + " (upstream: " + upstream + ")"};
    }
  }
  return {true, "remote '" + remote.name + "' pushes only to the fork " + fork};
}

}  // namespace agentron
