// agentron-fork: the fork-only git tools. Argument parsing and output only; the
// work is in fork/commands.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/config_source.h"
#include "common/duration.h"
#include "fork/commands.h"
#include "fork/drop_privileges.h"
#include "fork/fork_errors.h"
#include "fork/git_repo.h"
#include "fork/run_command.h"
#include "fork/secret_scrub.h"
#include "fork/self_protection.h"
#include "launcher/posix_spawner.h"

using namespace agentron;
using nlohmann::json;

namespace {

void print_human(const std::string& verb, const json& data) {
  if (data.is_object()) {
    for (const auto& [key, value] : data.items()) {
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      std::printf("%-15s %s\n", (key + ":").c_str(), text.c_str());
    }
  } else {
    std::printf("%s: %s\n", verb.c_str(), data.dump().c_str());
  }
}

int finish(const std::string& verb, const Result<json>& result, const ForkContext& ctx, bool as_json) {
  const std::string& token = ctx.token;
  if (as_json) {
    json out =
        result ? json{{"ok", true}, {"data", result.value()}}
               : json{{"ok", false}, {"error", {{"code", result.error().code}, {"message", result.error().message}}}};
    if (!ctx.warnings.empty()) out["warnings"] = ctx.warnings;
    std::printf("%s\n", scrub(out.dump(), token).c_str());
  } else {
    for (const auto& w : ctx.warnings) std::fprintf(stderr, "warning: %s\n", scrub(w, token).c_str());
    if (result)
      print_human(verb, json::parse(scrub(result.value().dump(), token)));
    else
      std::fprintf(stderr, "agentron-fork %s: %s\n", verb.c_str(), scrub(result.error().message, token).c_str());
  }
  return result ? 0 : 1;
}

// The workspace verbs, run as root with [app] user, drop to that user here for good
// (fork/drop_privileges.h). The user's home ("" if none) if this process dropped,
// nullopt if it did not.
Result<std::optional<std::string>> drop_for(const std::string& verb, const ForkContext& ctx) {
  auto who = workspace_verb_user(verb, ctx.app_user, ctx.app_group);
  if (!who) return who.error();
  if (!*who) return std::optional<std::string>();
  auto home = drop_to(**who);
  if (!home) return home.error();
  return std::optional<std::string>(*home);
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else: the agent's code runs as this same user, and may read a
  // dumpable process's memory and environment (fork/self_protection.h).
  if (auto s = make_undumpable(); !s) {
    std::fprintf(stderr, "agentron-fork: %s\n", s.error().message.c_str());
    return 1;
  }
  std::string token_from_environment = take_from_environment(kTokenVariable);
  CLI::App app{"agentron-fork: fork-only git tools for Agentron's agent (pushes go to the fork, never the upstream)"};
  app.require_subcommand(1);
  std::string config_flag, branch, name, message, remote, url, commit, upstream_branch = "main";
  std::vector<std::string> paths;
  bool as_json = false;
  app.add_option("--config,-c", config_flag, "config file with a [fork] section")->configurable(false);
  app.add_flag("--json", as_json, "print one JSON object");
  auto sub = [&](const char* verb, const char* help) {
    auto* s = app.add_subcommand(verb, help);
    s->add_option("--config,-c", config_flag, "config file with a [fork] section");
    s->add_flag("--json", as_json, "print one JSON object");
    return s;
  };
  bool create = false;
  std::string wait = "5m";
  auto* ensure = sub("ensure-fork", "check that the fork exists and is not the upstream");
  ensure->add_flag("--create", create, "if it does not exist, ask the GitHub API ([fork] api_url) to create it");
  ensure->add_option("--wait", wait, "how long to wait for a new fork to appear (default 5m)");
  sub("branch-head", "the commit a branch of the fork points at (what is pushed)")
      ->add_option("branch", branch)
      ->required();
  sub("clone-or-pull", "clone the fork into the workspace, or fetch and fast-forward")
      ->add_option("--branch", branch, "branch to check out / must be the current one");
  sub("create-branch", "create and check out <branch_prefix><name>")->add_option("name", name)->required();
  auto* commit_cmd = sub("commit", "stage and commit (all changes, or the given paths)");
  commit_cmd->add_option("-m,--message", message, "commit message")->required();
  commit_cmd->add_option("paths", paths, "paths to commit (default: everything changed)");
  sub("push", "push the current branch to the fork (guarded)");
  sub("sync-upstream", "fetch the upstream and merge it into the current branch (never pushes)")
      ->add_option("--upstream-branch", upstream_branch, "upstream branch to merge (default main)");
  sub("build", "run [fork] build in the workspace");
  sub("test", "run [fork] test in the workspace");
  std::string current_release;
  auto* release = sub("release", "build an immutable release of a pushed commit");
  release->add_option("commit", commit)->required();
  release->add_option("--branch", branch, "the commit must be on this branch of the fork (default: any)");
  release->add_option("--current-release", current_release, "never prune this release (default: [app] release)");
  auto* guard = sub("check-guard", "show each remote's effective push URLs and the guard's verdict");
  guard->add_option("--remote", remote, "only this remote");
  guard->add_option("--url", url, "judge this push URL (what the pre-push hook gets from git)");
  sub("install-hooks", "install a pre-push hook so a plain `git push` is guarded too");
  CLI11_PARSE(app, argc, argv);
  std::string verb = app.get_subcommands().front()->get_name();

  ForkContext ctx;
  ConfigSource source = find_config_source(config_flag);
  std::optional<Config> config = load_or_report(source);
  if (!config) return 2;
  if (!config->fork.configured) {
    std::fprintf(stderr, "agentron-fork: %s has no [fork] section (workspace, fork_url, upstream_url)\n",
                 source.describe().c_str());
    return 2;
  }
  ctx.fork = config->fork;
  ctx.current_release = current_release.empty() ? config->app.release : std::filesystem::path(current_release);
  ctx.app_user = config->app.user;
  ctx.app_group = config->app.group;
  ctx.config_path = source.path.empty() ? std::filesystem::path() : std::filesystem::absolute(source.path);
  // The credentials file is read by the subcommands that talk to the fork, and by
  // those that run the agent's code, to scrub the token from what it prints. The
  // variable was dropped at start: nothing this process starts can inherit it.
  auto token = load_token(ctx.fork, token_use(verb), std::move(token_from_environment), ctx.warnings);
  if (!token) return finish(verb, token.error(), ctx, as_json);
  ctx.token = *token;
  // Root's part ends here: as root, this process has read only the config and the
  // token — the operator's files, by the paths given. The workspace verbs drop to
  // [app] user now (fork/drop_privileges.h), before anything reads a path the agent may
  // control: the upstream is identified below (a relative upstream_url is taken from
  // the workspace, "~" from HOME), and every verb opens the workspace, its .git and
  // .git/config. An upstream the user cannot read then goes unidentified — but the
  // user cannot write it either, and a push goes only to what is the fork.
  auto dropped = drop_for(verb, ctx);
  if (!dropped) return finish(verb, dropped.error(), ctx, as_json);
  // The upstream is identified now, once; a relative path is taken from the workspace,
  // where git itself would resolve it for a push.
  ctx.targets = GuardTargets::identify(ctx.fork.fork_url, ctx.fork.upstream_url, ctx.fork.workspace);

  GitLibrary git;
  // Dropped: git config from the user's home only, never root's ~/.gitconfig (HOME and
  // XDG_CONFIG_HOME are still root's if the user has no home).
  if (*dropped) {
    if (auto s = git.read_user_config_from(**dropped); !s) return finish(verb, s.error(), ctx, as_json);
  }
  Result<json> result = Error{fork_error::unknown, "unknown subcommand"};
  if (verb == "ensure-fork") {
    auto bound = parse_duration(wait);
    result =
        bound ? fork_ensure(ctx, create, *bound)
              : Result<json>(Error{fork_error::bad_duration, "--wait " + wait + " is not a duration like 30s or 5m"});
  } else if (verb == "branch-head")
    result = fork_branch_head(ctx, branch);
  else if (verb == "clone-or-pull")
    result = fork_clone_or_pull(ctx, branch);
  else if (verb == "create-branch")
    result = fork_create_branch(ctx, name);
  else if (verb == "commit")
    result = fork_commit(ctx, message, paths);
  else if (verb == "push")
    result = fork_push(ctx);
  else if (verb == "sync-upstream")
    result = fork_sync_upstream(ctx, upstream_branch);
  else if (verb == "build" || verb == "test")
    result = fork_run(ctx, verb);
  else if (verb == "release")
    result = fork_release(ctx, commit, branch);
  else if (verb == "check-guard")
    result = fork_check_guard(ctx, remote, url);
  else if (verb == "install-hooks")
    result = fork_install_hooks(ctx, (executable_dir() / "agentron-fork").string());
  return finish(verb, result, ctx, as_json);
}
