// open: a one-time login link for the supervisor's pages (docs/operations.md,
// "Following improvements in the browser"). Asks the running supervisor for a code over
// the control socket, prints the link, and on a desktop opens it with xdg-open.
#include <spawn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "control/control_client.h"
#include "launcher/instance_spec.h"

extern char** environ;

namespace agentron {
namespace {

namespace fs = std::filesystem;

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
  // Over the control socket: only its user (the operator) may ask, and no token goes
  // over TCP to whatever holds the port.
  fs::path socket = state_dir(config->app) / "control.sock";
  auto answer = control_request(socket, LoginCodeRequest{});
  if (!answer) return fail(answer.error().message);
  if (!answer->value("ok", false)) {
    return fail("the supervisor refused a login code: " + (*answer)["error"].value("message", std::string()));
  }
  std::string url = (*answer)["data"].value("url", std::string());
  std::fprintf(stderr, "a one-time login link for the supervisor's pages (valid %lld s, one use):\n",
               static_cast<long long>((*answer)["data"].value("expires_in_seconds", 60)));
  std::printf("%s\n", url.c_str());
  std::fflush(stdout);
  if (!args.no_browser && on_a_desktop() && !open_in_browser(url)) {
    std::fprintf(stderr, "could not run xdg-open: open the link in a browser on this machine\n");
  }
  return kExitOk;
}

}  // namespace agentron
