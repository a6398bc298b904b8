// open: a one-time login link for the supervisor's pages (docs/operations.md,
// "Following improvements in the browser"). Asks the running supervisor for a code with
// the operator's token, prints the link, and on a desktop opens it with xdg-open.
#include <spawn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "cli/control_api_client.h"
#include "cli/http_client.h"

extern char** environ;

namespace agentron {
namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return kExitFailure;
}

bool on_a_desktop() { return std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY"); }

// xdg-open `url` in a session of its own, not waited for: some browsers keep it
// running as long as they do. Whether it worked is for the user to see.
bool open_in_browser(const std::string& url) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "xdg-open", nullptr, &attr, const_cast<char* const*>(argv), environ);
  posix_spawnattr_destroy(&attr);
  return rc == 0;
}

}  // namespace

int cmd_open(const OpenArgs& args) {
  auto config = load_or_report(find_config_source(args.config));
  if (!config) return kExitConfig;
  if (!config->control.configured) {
    return fail(
        "the pages are served by the control API: add a [control] section to the config and restart the "
        "supervisor (docs/configuration.md)");
  }
  auto listen = listen_address(*config);
  if (!listen) return fail(listen.error().message);
  auto token = read_token(config->control.operator_token_file);
  if (!token) return fail(token.error().message);
  auto base = parse_http_url("http://" + listen.value() + "/");
  if (!base) return fail(base.error().message);
  auto answer =
      http_json(*base, "POST", "/v1/login-codes", nullptr, 10, {{"Authorization", "Bearer " + token.value()}});
  if (!answer) return fail(answer.error().message + " — is the supervisor running?");
  auto body = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (answer->status != 201 || !body.is_object() || !body.contains("url")) {
    std::string why = body.is_object() && body.contains("error") ? body["error"].value("message", "") : answer->body;
    return fail("the supervisor refused a login code (" + std::to_string(answer->status) + "): " + why);
  }
  std::string url = body["url"];
  std::fprintf(stderr, "a one-time login link for the supervisor's pages (valid 60 s, one use):\n");
  std::printf("%s\n", url.c_str());
  std::fflush(stdout);
  if (!args.no_browser && on_a_desktop() && !open_in_browser(url)) {
    std::fprintf(stderr, "could not run xdg-open: open the link in a browser on this machine\n");
  }
  return kExitOk;
}

}  // namespace agentron
