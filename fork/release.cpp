// `agentron-fork release`: builds an immutable release of a commit the fork has. What
// the fork has is asked of the fork itself, in the same fetch that brings the commits
// — never read from a ref in the agent's workspace, which the agent can write
// (`git update-ref refs/remotes/origin/x <unpushed commit>`). Nothing in releases_dir
// is trusted either: without privilege separation a build script can write there
// (docs/security.md). With it — root, and [app] user — the build runs as the app's
// user and the release is root's sealed copy of what it built (fork/build_user.h).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>

#include "common/remove_tree.h"
#include "common/utc_time.h"
#include "fork/build_user.h"
#include "fork/commands.h"
#include "fork/fork_errors.h"
#include "fork/git_repo.h"
#include "fork/git_url.h"
#include "fork/local_repo.h"
#include "fork/release_mirror.h"
#include "fork/run_command.h"
#include "fork/seal_tree.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMirrorRefspec = "+refs/heads/*:refs/heads/*";

Error unsafe(const ForkContext& ctx, const std::string& why) {
  return Error{fork_error::releases_dir_unsafe, "releases_dir " + ctx.fork.releases_dir.string() + " " + why +
                                                    "; nothing was written. Set [fork] releases_dir elsewhere"};
}

// The real path of an opened folder: no symlink on the way.
fs::path real_path_of(int fd) {
  std::error_code ec;
  return fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
}

// releases_dir, created if absent and held open — but never in the upstream: every
// write below it would land there. Its nearest existing folder is checked first, so a
// releases_dir inside the upstream is not even created. With a `builder` to seal
// against, it must be out of that user's reach, and ctx.fork.releases_dir becomes its
// real path: the supervisor starts the release by the path in the answer, and no
// folder on that path is one the app's user could swap.
Result<UniqueFd> open_releases_dir(ForkContext& ctx, const CommandUser* builder) {
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
  if (builder) {
    fs::path real = real_path_of(dir.get());
    if (real.empty()) return errno_error(fork_error::releases_dir_unsafe, "cannot resolve releases_dir", errno);
    if (auto s = check_out_of_reach(dir.get(), real, builder->who); !s) return s.error();
    ctx.fork.releases_dir = real;
  }
  return dir;
}

// A new, empty folder (0700, this user's) in releases_dir, by a name no one could
// prepare for it: `kind` "tmp" for a build, "seal" for a sealed copy.
Result<fs::path> make_private_folder(const ForkContext& ctx, const std::string& kind, const std::string& commit) {
  std::string name = (ctx.fork.releases_dir / ("." + kind + "-" + commit + "-XXXXXX")).string();
  if (!::mkdtemp(name.data()))
    return errno_error(fork_error::releases_dir_unsafe, "cannot create a folder in releases_dir", errno);
  return fs::path(name);
}

// releases_dir/.logs, created if absent. With a `builder` to seal against it must be
// a folder that user cannot write: root opens the log there by name.
Result<fs::path> open_logs_folder(const ForkContext& ctx, int releases_fd, const CommandUser* builder) {
  fs::path logs = ctx.fork.releases_dir / ".logs";
  if (::mkdirat(releases_fd, ".logs", 0755) != 0 && errno != EEXIST)
    return errno_error(fork_error::log_failed, "cannot create " + logs.string(), errno);
  struct stat st {};
  if (builder && (::fstatat(releases_fd, ".logs", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
                  may_write(st, builder->who))) {
    std::string shown = logs.string();
    return Error{fork_error::releases_dir_unsafe, shown + " is not a folder, or " + builder->who.user +
                                                      " (the app's user) can write it; nothing was built. As root, "
                                                      "remove it or make it root's (`chown root:root " +
                                                      shown + " && chmod 0755 " + shown + "`)"};
  }
  return logs;
}

Result<UniqueFd> open_folder(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error(fork_error::releases_dir_unsafe, "cannot open " + dir.string(), errno);
  return fd;
}

// Removes a folder of releases_dir (a build folder, a partial copy, an old release),
// never following a symlink: the build's user may still be changing a build folder.
// A folder that cannot be removed is left, with a warning.
void remove_folder(ForkContext& ctx, int releases_fd, const fs::path& dir) {
  if (auto s = remove_tree_at(releases_fd, dir.filename().string()); !s)
    ctx.warnings.push_back("left " + dir.string() + ": " + s.error().message);
}

// The answer, as release.json in the folder `dir`: whatever the build put under that
// name (a symlink to somewhere, say) is removed first, and the file is created anew.
Status write_release_record(int dir, const json& record) {
  if (auto s = remove_tree_at(dir, "release.json"); !s) return s;
  UniqueFd out(::openat(dir, "release.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  std::string text = record.dump(2) + "\n";
  if (!out.valid() || ::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error(fork_error::log_failed, "cannot write release.json", errno);
  return ok_status();
}

Status seal_into(const fs::path& built, const fs::path& sealed, uid_t builder) {
  auto from = open_folder(built);
  if (!from) return from.error();
  auto to = open_folder(sealed);
  if (!to) return to.error();
  return seal_tree(from->get(), to->get(), builder, built.string());
}

// The build folder `built`, the build's user's, copied into a new root-owned folder
// (fork/seal_tree.h) — the release from now on; the build folder is removed either way.
Result<fs::path> seal_build(ForkContext& ctx, int releases_fd, const fs::path& built, const std::string& commit,
                            const CommandUser& builder) {
  auto sealed = make_private_folder(ctx, "seal", commit);
  if (!sealed) {
    remove_folder(ctx, releases_fd, built);
    return sealed.error();
  }
  Status s = seal_into(built, *sealed, builder.who.uid);
  remove_folder(ctx, releases_fd, built);
  if (!s) {
    remove_folder(ctx, releases_fd, *sealed);
    return s.error();
  }
  return *sealed;
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
// folders of this user's with a release.json are ever counted or removed — not one
// the build's user made (a release of the days before the seal, with a release.json
// dated 2099, would push real releases out).
std::vector<std::string> prune_releases(const ForkContext& ctx, int releases_fd, const std::string& just_built) {
  std::vector<std::pair<std::int64_t, fs::path>> releases;  // (built_at_ns, dir)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ctx.fork.releases_dir, ec)) {
    struct stat st {};
    if (::fstatat(releases_fd, entry.path().filename().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
      continue;
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
    if (remove_tree_at(releases_fd, dir.filename().string())) removed.push_back(dir.filename().string());
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

struct ForkSource {
  std::string url;             // what the fetch reads
  bool foreign_owner = false;  // a local fork of the build's user's, read through `held`
  std::optional<LocalRepo> held;
};

// Where the release fetches from. A local fork (a local stand-in for GitHub) is pushed
// to by the agent, so with [app] user it is that user's, and libgit2 refuses to open a
// repository another user owns (git's safe.directory rule). That fork — only one owned
// by the build's user — is read through its directory, held open (a swap of its path
// after this cannot send the fetch elsewhere), with the check off in the confined child
// that fetches. Any other owner is refused by libgit2, as before.
Result<ForkSource> fork_source(const ForkContext& ctx, const CommandUser* builder) {
  if (!builder || !ctx.targets.fork_is_local()) return ForkSource{ctx.fork.fork_url, false, std::nullopt};
  auto fork = ctx.targets.open_local_fork();
  if (!fork) return fork.error();
  struct stat st {};
  if (::fstat(fork->common_dir_fd(), &st) != 0)
    return errno_error(fork_error::git_error, "cannot inspect " + fork->shown().string(), errno);
  if (st.st_uid == ::geteuid() || st.st_uid != builder->who.uid)
    return ForkSource{ctx.fork.fork_url, false, std::nullopt};
  std::string pinned = fork->pinned_path();
  return ForkSource{pinned, true, std::move(fork.value())};
}

Error not_on_fork(const std::string& what, const std::string& only_branch) {
  std::string where = only_branch.empty() ? "any branch of the fork" : "the fork's branch " + only_branch;
  return Error{fork_error::not_on_fork, what + " is not on " + where + "; push it first (`agentron-fork push`)"};
}

// Exports `commit` into the new folder `dir` and runs [fork] build there — as `as`, if
// given, with the folder given to that user first. On failure the folder is removed: a
// half-built release is never left where it could be used.
Result<CommandRun> export_and_build(ForkContext& ctx, int releases_fd, GitRepo& repo, const std::string& commit,
                                    const fs::path& dir, const fs::path& log, const CommandUser* as) {
  Status ready = repo.export_tree(commit, dir);
  if (ready && as) ready = give_tree_to(dir, as->who);
  if (!ready) {
    remove_folder(ctx, releases_fd, dir);
    return ready.error();
  }
  // Not confined (fork/write_sandbox.h): the build is the fork's code and needs its
  // caches. It gets no token, and its log is scrubbed.
  auto run = run_logged(ctx.fork.build, dir, log, ctx.fork.build_timeout, ctx.token, as);
  if (run && run->ok()) return run;
  remove_folder(ctx, releases_fd, dir);
  if (!run) return run.error();
  return Error{fork_error::build_failed, "the build of " + commit.substr(0, 12) + " " + run->describe() +
                                             "; no release was made. Log: " + log.string() + "\n" + run->log_tail};
}

// Writes release.json into the release `dir` and moves it into its place. A sealed
// release is opened to readers (the app's user runs it); it stays writable by root only.
Result<fs::path> finish_release(ForkContext& ctx, int releases_fd, const fs::path& dir, const std::string& commit,
                                const json& record, bool sealed) {
  auto fd = open_folder(dir);
  Status s = fd ? write_release_record(fd->get(), record) : Status(fd.error());
  if (s && sealed && ::fchmod(fd->get(), 0755) != 0)
    s = errno_error(fork_error::seal_refused, "cannot open " + dir.string() + " to readers", errno);
  auto placed = s ? place_release(ctx, releases_fd, dir, commit) : Result<fs::path>(s.error());
  if (!placed) remove_folder(ctx, releases_fd, dir);
  return placed;
}

}  // namespace

Result<json> fork_release(ForkContext& ctx, const std::string& spec, const std::string& only_branch) {
  // Before anything is written: who builds, and whether this process may make it so.
  auto builder = release_build_user(ctx.app_user, ctx.app_group);
  if (!builder) return builder.error();
  const CommandUser* as = builder->has_value() ? &**builder : nullptr;
  // Root makes everything here for others to read, never to write, whatever umask it got.
  if (as) ::umask(022);
  auto releases = open_releases_dir(ctx, as);
  if (!releases) return releases.error();
  // Checked right before the fetch, which is confined to it.
  auto mirror = ReleaseMirror::open(ctx, releases->get(), ctx.warnings);
  if (!mirror) return mirror.error();
  // One conversation with the fork: its branches as it advertises them now, and their
  // commits; branches it no longer has are pruned from the mirror.
  auto source = fork_source(ctx, as);
  if (!source) return source.error();
  auto heads = mirror->fetch(source->url, kMirrorRefspec, Credentials{ctx.token}, source->foreign_owner);
  if (!heads) return heads.error();
  auto read = mirror->open_for_reading();
  if (!read) return read.error();
  auto commit = read->resolve_commit(spec);
  if (!commit) return not_on_fork("commit '" + spec + "'", only_branch);
  std::string branch = branch_containing(*read, *heads, *commit, only_branch);
  if (branch.empty()) return not_on_fork("commit " + commit->substr(0, 12), only_branch);
  auto logs = open_logs_folder(ctx, releases->get(), as);
  if (!logs) return logs.error();
  // Always built afresh: an existing folder for this commit may have been written by
  // anyone who can write releases_dir, and nothing in it can prove otherwise.
  auto tmp = make_private_folder(ctx, "tmp", *commit);
  if (!tmp) return tmp.error();
  fs::path log = *logs / (*commit + "-" + utc_now_compact() + ".log");
  auto run = export_and_build(ctx, releases->get(), *read, *commit, *tmp, log, as);
  if (!run) return run.error();
  auto release = as ? seal_build(ctx, releases->get(), *tmp, *commit, *as) : Result<fs::path>(*tmp);
  if (!release) return release.error();
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(WallClock::now().time_since_epoch()).count();
  json record = {{"built_at_ns", now_ns},
                 {"commit", *commit},
                 {"branch", branch},
                 {"built_at", utc_now_iso8601()},
                 {"duration_seconds", run->seconds},
                 {"build_status", "ok"},
                 {"log", log.string()},
                 {"fork_url", redact_git_url(ctx.fork.fork_url)},
                 {"sealed", as != nullptr}};
  if (as) record["built_as"] = as->who.user;
  auto final_dir = finish_release(ctx, releases->get(), *release, *commit, record, as != nullptr);
  if (!final_dir) return final_dir.error();
  record["pruned"] = prune_releases(ctx, releases->get(), final_dir->filename().string());
  record["dir"] = final_dir->string();
  return record;
}

}  // namespace agentron
