// `agentron-fork release`: builds an immutable release of a commit the fork has. What
// the fork has is asked of the fork itself, in the same fetch that brings the commits
// — never read from a ref in the agent's workspace, which the agent can write
// (`git update-ref refs/remotes/origin/x <unpushed commit>`). Nothing in releases_dir
// is trusted either: a build script can write there (docs/security.md).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>

#include "common/utc_time.h"
#include "fork/commands.h"
#include "fork/fork_errors.h"
#include "fork/git_repo.h"
#include "fork/git_url.h"
#include "fork/local_repo.h"
#include "fork/release_mirror.h"
#include "fork/run_command.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMirrorRefspec = "+refs/heads/*:refs/heads/*";

Error unsafe(const ForkContext& ctx, const std::string& why) {
  return Error{fork_error::releases_dir_unsafe, "releases_dir " + ctx.fork.releases_dir.string() + " " + why +
                                                    "; nothing was written. Set [fork] releases_dir elsewhere"};
}

// releases_dir, created if absent and held open — but never in the upstream: every
// write below it would land there. Its nearest existing folder is checked first, so a
// releases_dir inside the upstream is not even created.
Result<UniqueFd> open_releases_dir(const ForkContext& ctx) {
  const LocalRepo* upstream = ctx.targets.upstream_repo();
  auto inside_upstream = [&](const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return upstream && fd.valid() && is_at_or_beneath(fd.get(), upstream->id().common_dir);
  };
  std::error_code ec;
  fs::path existing = fs::absolute(ctx.fork.releases_dir, ec);
  while (!existing.empty() && existing != existing.root_path() && !fs::exists(existing, ec))
    existing = existing.parent_path();
  if (inside_upstream(existing)) return unsafe(ctx, "lies inside the upstream " + upstream->shown().string());
  fs::create_directories(ctx.fork.releases_dir, ec);
  UniqueFd dir(::open(ctx.fork.releases_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid())
    return errno_error(fork_error::releases_dir_unsafe, "cannot open " + ctx.fork.releases_dir.string(), errno);
  if (upstream && is_at_or_beneath(dir.get(), upstream->id().common_dir))
    return unsafe(ctx, "lies inside the upstream " + upstream->shown().string());
  return dir;
}

// A new, empty folder for the build, by a name no one could prepare for it.
Result<fs::path> make_build_folder(const ForkContext& ctx, const std::string& commit) {
  std::string name = (ctx.fork.releases_dir / (".tmp-" + commit + "-XXXXXX")).string();
  if (!::mkdtemp(name.data()))
    return errno_error(fork_error::releases_dir_unsafe, "cannot create a folder in releases_dir", errno);
  return fs::path(name);
}

// Moves the built folder to releases_dir/<commit>, or — if that name is taken — to
// <commit>-<UTC>, <commit>-<UTC>-2, ...: a folder already there is never replaced
// (it may be the release running now) and never reused (it may be a forgery).
Result<fs::path> place_release(const ForkContext& ctx, int releases_fd, const fs::path& built,
                               const std::string& commit) {
  std::string stamp = utc_now_compact();
  for (int i = 0; i < 10; ++i) {
    std::string name = i == 0 ? commit : commit + "-" + stamp + (i > 1 ? "-" + std::to_string(i) : "");
    if (::renameat2(AT_FDCWD, built.c_str(), releases_fd, name.c_str(), RENAME_NOREPLACE) == 0)
      return ctx.fork.releases_dir / name;
    if (errno != EEXIST) return errno_error(fork_error::release_exists, "cannot move the release to " + name, errno);
  }
  return Error{fork_error::release_exists, "too many folders named " + commit + "-" + stamp + "* in releases_dir"};
}

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
  auto releases = open_releases_dir(ctx);
  if (!releases) return releases.error();
  // Checked right before the fetch, which is confined to it.
  auto mirror = ReleaseMirror::open(ctx, releases->get(), ctx.warnings);
  if (!mirror) return mirror.error();
  // One conversation with the fork: its branches as it advertises them now, and their
  // commits; branches it no longer has are pruned from the mirror.
  auto heads = mirror->fetch(ctx.fork.fork_url, kMirrorRefspec, Credentials{ctx.token});
  if (!heads) return heads.error();
  auto read = mirror->open_for_reading();
  if (!read) return read.error();
  auto commit = read->resolve_commit(spec);
  if (!commit) return not_on_fork("commit '" + spec + "'", only_branch);
  std::string branch = branch_containing(*read, *heads, *commit, only_branch);
  if (branch.empty()) return not_on_fork("commit " + commit->substr(0, 12), only_branch);
  // Always built afresh: an existing folder for this commit may have been written by
  // anyone who can write releases_dir, and nothing in it can prove otherwise.
  auto tmp = make_build_folder(ctx, *commit);
  if (!tmp) return tmp.error();
  fs::path logs = ctx.fork.releases_dir / ".logs";
  fs::create_directories(logs);
  fs::path log = logs / (*commit + "-" + utc_now_compact() + ".log");
  if (auto s = read->export_tree(*commit, *tmp); !s) {
    fs::remove_all(*tmp);
    return s.error();
  }
  // Not confined (fork/write_sandbox.h): the build is the fork's code and needs its
  // caches. It gets no token, and its log is scrubbed.
  auto run = run_logged(ctx.fork.build, *tmp, log, ctx.fork.build_timeout, ctx.token);
  if (!run || !run->ok()) {
    fs::remove_all(*tmp);  // a half-built release is never left where it could be used
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
  std::ofstream(*tmp / "release.json") << record.dump(2) << "\n";
  auto final_dir = place_release(ctx, releases->get(), *tmp, *commit);
  if (!final_dir) {
    fs::remove_all(*tmp);
    return final_dir.error();
  }
  record["pruned"] = prune_releases(ctx, final_dir->filename().string());
  record["dir"] = final_dir->string();
  return record;
}

}  // namespace agentron
