#include "fork/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/utc_time.h"
#include "fork/fork_errors.h"
#include "fork/git_repo.h"
#include "fork/git_url.h"
#include "fork/github_api.h"
#include "fork/run_command.h"
#include "fork/workspace.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Credentials credentials(const ForkContext& ctx) { return Credentials{ctx.token}; }

Status check_fork_is_not_upstream(const ForkContext& ctx) {
  TargetVerdict v = ctx.targets.classify(ctx.fork.fork_url);
  if (v.kind != TargetKind::upstream) return ok_status();
  return Error{fork_error::fork_is_upstream, "[fork] fork_url " + redact_git_url(ctx.fork.fork_url) + v.detail +
                                                 " is the upstream " + redact_git_url(ctx.fork.upstream_url) +
                                                 "; the agent may only work in its own fork: set fork_url to it"};
}

// Where the workspace keeps what it knows of the fork's and the upstream's branches.
constexpr const char* kForkRefspec = "+refs/heads/*:refs/remotes/origin/*";
constexpr const char* kUpstreamRefspec = "+refs/heads/*:refs/remotes/upstream/*";

bool is_documentation(const std::string& path) {
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string name = fs::path(lower).filename().string();
  return lower.rfind("docs/", 0) == 0 || lower.rfind(".cursor/rules", 0) == 0 || name.rfind("readme", 0) == 0 ||
         name.rfind("install", 0) == 0;
}

bool under(const std::string& path, const std::vector<std::string>& pathspecs) {
  if (pathspecs.empty()) return true;
  for (const auto& p : pathspecs) {
    std::string prefix = p;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (path == prefix || path.rfind(prefix + "/", 0) == 0) return true;
  }
  return false;
}

json run_json(const CommandRun& run, const fs::path& log) {
  return {
      {"ok", run.ok()},         {"exit_code", run.exit_code}, {"signal", run.signal},    {"timed_out", run.timed_out},
      {"seconds", run.seconds}, {"log", log.string()},        {"log_tail", run.log_tail}};
}

}  // namespace

TokenUse token_use(const std::string& verb) {
  if (verb == "ensure-fork" || verb == "clone-or-pull" || verb == "push" || verb == "release" || verb == "branch-head")
    return TokenUse::send;
  if (verb == "build" || verb == "test") return TokenUse::scrub;
  return TokenUse::none;
}

Status confine(ForkContext& ctx, const std::vector<int>& dirs, const std::string& described_as) {
  auto sandbox = confine_writes(dirs, described_as);
  if (!sandbox) return sandbox.error();
  ctx.sandbox = *sandbox;
  return ok_status();
}

Result<std::string> load_token(const ForkConfig& fork, TokenUse use, std::string from_environment,
                               std::vector<std::string>& warnings) {
  if (!from_environment.empty()) return from_environment;
  if (use == TokenUse::none || fork.credentials_file.empty()) return std::string();
  struct stat st {};
  if (::stat(fork.credentials_file.c_str(), &st) != 0) return std::string();
  if (st.st_mode & 077) {
    std::string exposed = "the credentials file " + fork.credentials_file.string() + " is readable by others";
    if (use == TokenUse::send) return Error{fork_error::credentials_exposed, exposed + "; chmod 600 it"};
    warnings.push_back(exposed + " (chmod 600 it): the subcommands that send the token refuse it");
  }
  std::ifstream in(fork.credentials_file);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

Result<json> fork_ensure(ForkContext& ctx, bool create, Duration wait) {
  if (auto s = check_fork_is_not_upstream(ctx); !s) return s.error();
  auto listed = GitRepo::list_remote(ctx.fork.fork_url, credentials(ctx));
  bool created = false;
  if (!listed && create) {
    auto [owner, repo] = owner_and_repo(ctx.fork.upstream_url);
    if (ctx.token.empty()) return Error{fork_error::no_token, "creating a fork needs a token: set AGENTRON_FORK_TOKEN"};
    if (owner.empty())
      return Error{fork_error::bad_upstream, "cannot tell owner/repo from " + redact_git_url(ctx.fork.upstream_url)};
    auto answer = request_fork({ctx.fork.api_url, owner, repo, "", ctx.token});
    if (!answer) return answer.error();
    created = true;
    // GitHub creates forks asynchronously: the fork may answer before its branches are copied,
    // so wait until it answers with a branch.
    auto deadline = std::chrono::steady_clock::now() + wait;
    auto copied = [](const auto& l) { return l && !l->branches.empty(); };
    while (!copied(listed = GitRepo::list_remote(ctx.fork.fork_url, credentials(ctx))) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (listed && listed->branches.empty()) {
      return Error{fork_error::fork_not_ready, "the fork " + redact_git_url(ctx.fork.fork_url) +
                                                   " exists but has no branches yet (GitHub is still copying it); "
                                                   "try again in a minute"};
    }
  }
  if (!listed) {
    return Error{fork_error::fork_unreachable,
                 "the fork " + redact_git_url(ctx.fork.fork_url) + " cannot be reached (" + listed.error().message +
                     (created ? "), though GitHub accepted the request to create it; try again in a minute"
                              : "). Create it: `agentron-fork ensure-fork --create` (GitHub API), the Fork button "
                                "of the upstream, or fix [fork] fork_url")};
  }
  return json{{"fork_url", redact_git_url(ctx.fork.fork_url)},
              {"upstream_url", redact_git_url(ctx.fork.upstream_url)},
              {"default_branch", listed->default_branch},
              {"branches", listed->branches.size()},
              {"created", created}};
}

Result<json> fork_branch_head(ForkContext& ctx, const std::string& branch) {
  if (!valid_branch_name(branch)) return Error{fork_error::bad_branch, "'" + branch + "' is not a valid branch name"};
  if (auto s = check_fork_is_not_upstream(ctx); !s) return s.error();
  auto listed = GitRepo::list_remote(ctx.fork.fork_url, credentials(ctx));
  if (!listed) {
    return Error{fork_error::fork_unreachable, "the fork " + redact_git_url(ctx.fork.fork_url) +
                                                   " cannot be reached (" + listed.error().message + ")"};
  }
  for (const auto& head : listed->branches) {
    if (head.name == branch)
      return json{{"branch", branch}, {"commit", head.commit}, {"fork_url", redact_git_url(ctx.fork.fork_url)}};
  }
  return Error{fork_error::not_on_fork, "the fork " + redact_git_url(ctx.fork.fork_url) + " has no branch '" + branch +
                                            "': push it first (agentron-fork push)"};
}

Result<json> fork_clone_or_pull(ForkContext& ctx, const std::string& branch) {
  if (auto s = check_fork_is_not_upstream(ctx); !s) return s.error();
  std::error_code ec;
  bool absent = !fs::exists(ctx.fork.workspace, ec) || fs::is_empty(ctx.fork.workspace, ec);
  if (absent) {
    if (fs::create_directories(ctx.fork.workspace, ec); ec) {
      return Error{fork_error::no_workspace, "cannot create the workspace " + ctx.fork.workspace.string() + ": " +
                                                 ec.message() + " (agentron-fork runs as uid " +
                                                 std::to_string(::geteuid()) + ", who must be able to create it)"};
    }
    auto dir = open_workspace_dir(ctx);
    if (!dir) return dir.error();
    if (auto s = confine(ctx, {dir->get()}, ctx.fork.workspace.string()); !s) return s.error();
    auto repo = GitRepo::clone(ctx.fork.fork_url, ctx.fork.workspace, branch, credentials(ctx));
    if (!repo) return repo.error();
    // The upstream is for reading: a push URL that is not a URL makes any push to it fail.
    if (auto s = repo->add_remote("upstream", ctx.fork.upstream_url); !s) return s.error();
    if (auto s = repo->set_config("remote.upstream.pushurl", "DISABLED-the-upstream-is-fetch-only"); !s)
      return s.error();
    auto head = repo->head_commit();
    auto current = repo->current_branch();
    return json{{"action", "cloned"},
                {"workspace", ctx.fork.workspace.string()},
                {"branch", current ? *current : ""},
                {"commit", head ? *head : ""}};
  }
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  if (auto s = confine(ctx, {ws->dir.get()}, ctx.fork.workspace.string()); !s) return s.error();
  GitRepo& repo = ws->repo;
  auto current = repo.current_branch();
  if (!current) return current.error();
  if (!branch.empty() && branch != *current) {
    return Error{fork_error::wrong_branch,
                 "the workspace is on '" + *current + "', not '" + branch + "'; nothing was changed"};
  }
  auto dirty = repo.dirty_paths();
  if (!dirty) return dirty.error();
  if (!dirty->empty()) {
    return Error{fork_error::dirty,
                 "the workspace has uncommitted changes (" + dirty->front() +
                     (dirty->size() > 1 ? " and " + std::to_string(dirty->size() - 1) + " more" : "") +
                     "); commit them first. Nothing was changed"};
  }
  // From exactly the fork: origin's URL in the workspace is the agent's to edit.
  if (auto s = repo.fetch_from(ctx.fork.fork_url, kForkRefspec, credentials(ctx)); !s) return s.error();
  std::string remote_ref = "refs/remotes/origin/" + *current;
  if (!repo.resolve_commit(remote_ref)) {
    return json{{"action", "fetched"}, {"branch", *current}, {"note", "the branch is not on the fork yet"}};
  }
  auto ff = repo.fast_forward(remote_ref);
  if (!ff) return ff.error();
  return json{{"action", ff->changed() ? "fast-forwarded" : "up to date"},
              {"branch", *current},
              {"from", ff->from},
              {"to", ff->to}};
}

Result<json> fork_create_branch(ForkContext& ctx, const std::string& name) {
  std::string full = name.rfind(ctx.fork.branch_prefix, 0) == 0 ? name : ctx.fork.branch_prefix + name;
  if (!valid_branch_name(full)) {
    return Error{fork_error::bad_branch, "'" + full +
                                             "' is not a valid branch name (no spaces, '..', '~', '^', ':', '?', '*', "
                                             "'[', '\\\\', or a trailing '/' or '.lock')"};
  }
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  if (auto s = confine(ctx, {ws->dir.get()}, ctx.fork.workspace.string()); !s) return s.error();
  if (auto s = ws->repo.create_branch(full); !s) return s.error();
  auto head = ws->repo.head_commit();
  return json{{"branch", full}, {"commit", head ? *head : ""}};
}

Result<json> fork_commit(ForkContext& ctx, const std::string& message, const std::vector<std::string>& paths) {
  if (message.empty()) return Error{fork_error::no_message, "a commit needs a message: -m \"what changed and why\""};
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  if (auto s = confine(ctx, {ws->dir.get()}, ctx.fork.workspace.string()); !s) return s.error();
  GitRepo& repo = ws->repo;
  auto all = repo.changes();
  if (!all) return all.error();
  std::vector<GitRepo::Change> chosen;
  bool code = false, docs = false;
  for (const auto& c : *all) {
    if (!under(c.path, paths)) continue;
    chosen.push_back(c);
    (is_documentation(c.path) ? docs : code) = true;
  }
  if (code && !docs) {
    std::string note = "code changed but no documentation (README*, INSTALL*, docs/, .cursor/rules*) did";
    if (ctx.fork.docs_required) {
      return Error{fork_error::docs_required, note +
                                                  "; [fork] docs_required = true: update the docs in the same commit. "
                                                  "Nothing was committed"};
    }
    ctx.warnings.push_back(note + ": keep the fork self-describing");
  }
  auto id = repo.commit(message, chosen, {ctx.fork.author_name, ctx.fork.author_email});
  if (!id) return id.error();
  std::vector<std::string> committed;
  for (const auto& c : chosen) committed.push_back(c.path);
  auto branch = repo.current_branch();
  return json{{"commit", *id}, {"branch", branch ? *branch : ""}, {"paths", committed}};
}

Result<json> fork_push(ForkContext& ctx) {
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  GitRepo& repo = ws->repo;
  auto origin = repo.remote_config("origin");
  if (!origin) return origin.error();
  // Where would `git push origin` really go? Every target must be the fork: a workspace
  // aimed elsewhere is refused, though the push below would not follow it.
  GuardVerdict verdict = judge_push(*origin, ctx.targets);
  if (!verdict.allowed) return Error{fork_error::push_refused, verdict.reason};
  auto branch = repo.current_branch();
  if (!branch) return branch.error();
  auto head = repo.head_commit();
  if (!head) return head.error();
  // The push goes to exactly [fork] fork_url. A local fork is resolved now, held open,
  // checked to share no storage with the upstream, and pushed to through its open fd:
  // whatever happens to its path afterwards, this directory is the one written.
  std::string target = ctx.fork.fork_url;
  std::optional<LocalRepo> local_fork;
  std::vector<int> writable = {ws->dir.get()};
  if (ctx.targets.fork_is_local()) {
    auto fork = ctx.targets.open_local_fork();
    if (!fork) return Error{fork_error::push_refused, "refusing to push: " + fork.error().message};
    local_fork.emplace(std::move(*fork));
    target = local_fork->pinned_path();
    writable.push_back(local_fork->common_dir_fd());
  }
  std::string described = ctx.fork.workspace.string() + (local_fork ? " and " + local_fork->shown().string() : "");
  if (auto s = confine(ctx, writable, described); !s) return s.error();
  if (auto s = repo.push_branch(target, *branch, credentials(ctx)); !s) return s.error();
  // The push is done; a stale remote-tracking ref only makes the next pull re-fetch.
  if (auto s = repo.set_remote_ref("origin", *branch, *head); !s) ctx.warnings.push_back(s.error().message);
  return json{{"branch", *branch}, {"commit", *head}, {"fork_url", redact_git_url(ctx.fork.fork_url)}};
}

Result<json> fork_sync_upstream(ForkContext& ctx, const std::string& upstream_branch) {
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  if (auto s = confine(ctx, {ws->dir.get()}, ctx.fork.workspace.string()); !s) return s.error();
  GitRepo& repo = ws->repo;
  auto dirty = repo.dirty_paths();
  if (!dirty) return dirty.error();
  if (!dirty->empty())
    return Error{fork_error::dirty, "the workspace has uncommitted changes; commit them first. Nothing was changed"};
  // From exactly [fork] upstream_url, with no credentials: the upstream is public.
  if (auto s = repo.fetch_from(ctx.fork.upstream_url, kUpstreamRefspec, Credentials{}); !s) return s.error();
  std::string target = "refs/remotes/upstream/" + upstream_branch;
  auto merged = repo.merge(target, {ctx.fork.author_name, ctx.fork.author_email});
  if (!merged) return merged.error();
  return json{{"from", merged->from}, {"to", merged->to}, {"changed", merged->changed()}, {"pushed", false}};
}

Result<json> fork_run(ForkContext& ctx, const std::string& which) {
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  const auto& argv = which == "build" ? ctx.fork.build : ctx.fork.test;
  fs::path logs = ctx.fork.workspace.parent_path() / (ctx.fork.workspace.filename().string() + "-logs");
  std::error_code ec;
  if (fs::create_directories(logs, ec); ec) {
    return Error{fork_error::log_failed, "cannot create the log folder " + logs.string() + ": " + ec.message() +
                                             " (agentron-fork runs as uid " + std::to_string(::geteuid()) + ")"};
  }
  fs::path log = logs / (which + "-" + utc_now_compact() + ".log");
  // Not confined: the build is the agent's code and needs its caches; it gets no token.
  // The output also goes to stderr as it comes: a person sees the build run, and a job's
  // output.log (where the supervisor puts agentron-fork's stderr) shows it while it runs.
  auto run = run_logged(argv, ctx.fork.workspace, log, ctx.fork.build_timeout, ctx.token, nullptr, STDERR_FILENO);
  if (!run) return run.error();
  json data = run_json(*run, log);
  if (!run->ok())
    return Error{which + "_failed", which + " " + run->describe() + "; log: " + log.string() + "\n" + run->log_tail};
  return data;
}

Result<json> fork_check_guard(ForkContext& ctx, const std::string& remote, const std::string& url) {
  if (!url.empty()) {
    RemoteConfig target{remote.empty() ? "(push)" : remote, {url}, {}, {}, {}};
    GuardVerdict v = judge_push(target, ctx.targets);
    if (!v.allowed) return Error{fork_error::push_refused, v.reason};
    return json{{"url", redact_git_url(url)}, {"allowed", true}, {"reason", v.reason}};
  }
  auto repo = GitRepo::open(ctx.fork.workspace);
  if (!repo) return repo.error();
  json remotes = json::array();
  std::vector<std::string> names = remote.empty() ? repo->remote_names() : std::vector<std::string>{remote};
  std::string first_refusal;
  for (const auto& name : names) {
    auto config = repo->remote_config(name);
    if (!config) return config.error();
    GuardVerdict v = judge_push(*config, ctx.targets);
    json push_urls = json::array();
    for (const auto& u : effective_push_urls(*config)) push_urls.push_back(redact_git_url(u));
    remotes.push_back({{"remote", name},
                       {"fetch_url", redact_git_url(effective_fetch_url(*config))},
                       {"push_urls", push_urls},
                       {"push_allowed", v.allowed},
                       {"reason", v.reason}});
    if (!v.allowed && name == (remote.empty() ? "origin" : remote) && first_refusal.empty()) first_refusal = v.reason;
  }
  if (!first_refusal.empty()) return Error{fork_error::push_refused, first_refusal};
  if (!ctx.targets.upstream_problem().empty()) ctx.warnings.push_back(ctx.targets.upstream_problem());
  return json{{"remotes", remotes}, {"write_sandbox", probe_write_sandbox().description}};
}

Result<json> fork_install_hooks(ForkContext& ctx, const std::string& self) {
  auto ws = open_workspace(ctx);
  if (!ws) return ws.error();
  if (auto s = confine(ctx, {ws->dir.get()}, ctx.fork.workspace.string()); !s) return s.error();
  fs::path hooks = ctx.fork.workspace / ".git" / "hooks";
  fs::create_directories(hooks);
  fs::path hook = hooks / "pre-push";
  std::ofstream out(hook);
  out << "#!/bin/sh\n"
      << "# Installed by agentron-fork install-hooks: a plain `git push` is checked too.\n"
      << "# git gives the remote's name and the URL it is about to push to. A hook is a\n"
      << "# courtesy, not the guarantee: `git push --no-verify` skips it (docs/fork.md).\n"
      << "exec '" << self << "' check-guard --config '" << ctx.config_path.string()
      << "' --remote \"$1\" --url \"$2\"\n";
  out.close();
  fs::permissions(hook, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  return json{{"hook", hook.string()}};
}

}  // namespace agentron
