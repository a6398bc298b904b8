// `agentron-fork release`: builds an immutable release of a commit the fork has. What
// the fork has is asked of the fork itself, in the same fetch that brings the commits
// — never read from a ref in the agent's workspace, which the agent can write
// (`git update-ref refs/remotes/origin/x <unpushed commit>`).
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "common/utc_time.h"
#include "fork/commands.h"
#include "fork/fork_errors.h"
#include "fork/git_repo.h"
#include "fork/git_url.h"
#include "fork/run_command.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A bare mirror of the fork's branches beside the releases, written only by this
// subcommand: releases_dir is outside the agent's workspace and data dir.
constexpr const char* kMirror = ".fork.git";
constexpr const char* kMirrorRefspec = "+refs/heads/*:refs/heads/*";

// Keeps the newest keep_releases releases (by built_at) and the current one; only
// folders with a release.json are ever removed.
std::vector<std::string> prune_releases(const ForkContext& ctx, const std::string& just_built) {
  std::vector<std::pair<std::int64_t, fs::path>> releases;  // (built_at_ns, dir)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ctx.fork.releases_dir, ec)) {
    std::ifstream in(entry.path() / "release.json");
    if (!in) continue;
    auto record = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) releases.emplace_back(record.value("built_at_ns", std::int64_t{0}), entry.path());
  }
  std::sort(releases.rbegin(), releases.rend());
  std::vector<std::string> removed;
  fs::path current = fs::weakly_canonical(ctx.current_release, ec);
  for (size_t i = static_cast<size_t>(ctx.fork.keep_releases); i < releases.size(); ++i) {
    const fs::path& dir = releases[i].second;
    if (dir.filename() == just_built || fs::weakly_canonical(dir, ec) == current) continue;
    fs::remove_all(dir, ec);
    if (!ec) removed.push_back(dir.filename().string());
  }
  return removed;
}

// The first of the fork's branches (only `only_branch`, when given) that contains `commit`.
std::string branch_containing(GitRepo& mirror, const std::vector<RemoteHead>& heads, const std::string& commit,
                              const std::string& only_branch) {
  for (const auto& head : heads) {
    if (!only_branch.empty() && head.name != only_branch) continue;
    auto reachable = mirror.is_ancestor(commit, head.commit);
    if (reachable && *reachable) return head.name;
  }
  return "";
}

Error not_on_fork(const std::string& what, const std::string& only_branch) {
  std::string where = only_branch.empty() ? "any branch of the fork" : "the fork's branch " + only_branch;
  return Error{fork_error::not_on_fork, what + " is not on " + where + "; push it first (`agentron-fork push`)"};
}

}  // namespace

Result<json> fork_release(ForkContext& ctx, const std::string& spec, const std::string& only_branch) {
  fs::create_directories(ctx.fork.releases_dir);
  auto mirror = GitRepo::open_or_init_bare(ctx.fork.releases_dir / kMirror);
  if (!mirror) return mirror.error();
  // One conversation with the fork: its branches as it advertises them now, and their
  // commits; branches it no longer has are pruned from the mirror.
  auto heads = mirror->fetch_from(ctx.fork.fork_url, kMirrorRefspec, Credentials{ctx.token});
  if (!heads) return heads.error();
  auto commit = mirror->resolve_commit(spec);
  if (!commit) return not_on_fork("commit '" + spec + "'", only_branch);
  std::string branch = branch_containing(*mirror, *heads, *commit, only_branch);
  if (branch.empty()) return not_on_fork("commit " + commit->substr(0, 12), only_branch);
  fs::path final_dir = ctx.fork.releases_dir / *commit;
  if (fs::exists(final_dir / "release.json")) {
    return json{{"commit", *commit}, {"branch", branch}, {"dir", final_dir.string()}, {"reused", true}};
  }
  fs::path tmp = ctx.fork.releases_dir / (".tmp-" + *commit + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::path logs = ctx.fork.releases_dir / ".logs";
  fs::create_directories(logs);
  fs::path log = logs / (*commit + "-" + utc_now_compact() + ".log");
  if (auto s = mirror->export_tree(*commit, tmp); !s) {
    fs::remove_all(tmp);
    return s.error();
  }
  // Not confined (fork/write_sandbox.h): the build is the fork's code and needs its
  // caches. It gets no token, and its log is scrubbed.
  auto run = run_logged(ctx.fork.build, tmp, log, ctx.fork.build_timeout, ctx.token);
  if (!run || !run->ok()) {
    fs::remove_all(tmp);  // a half-built release is never left where it could be used
    if (!run) return run.error();
    return Error{fork_error::build_failed, "the build of " + commit->substr(0, 12) + " " + run->describe() +
                                               "; no release was made. Log: " + log.string() + "\n" + run->log_tail};
  }
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(WallClock::now().time_since_epoch()).count();
  json record = {{"built_at_ns", now_ns},
                 {"commit", *commit},
                 {"branch", branch},
                 {"built_at", utc_now_iso8601()},
                 {"duration_seconds", run->seconds},
                 {"build_status", "ok"},
                 {"log", log.string()},
                 {"fork_url", redact_git_url(ctx.fork.fork_url)}};
  std::ofstream(tmp / "release.json") << record.dump(2) << "\n";
  fs::rename(tmp, final_dir);
  record["pruned"] = prune_releases(ctx, *commit);
  record["dir"] = final_dir.string();
  record["reused"] = false;
  return record;
}

}  // namespace agentron
