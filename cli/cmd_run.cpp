#include <spdlog/spdlog.h>
#include <sys/prctl.h>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "supervisor/daemon.h"

namespace agentron {

int cmd_run(const std::string& config_flag) {
  // The supervisor may hold the fork token (AGENTRON_FORK_TOKEN, for the release build)
  // and runs as the app's user by default: an app that reads /proc/<pid>/environ or
  // /proc/<pid>/mem of its supervisor must find nothing. Non-dumpable makes those files
  // root's, refuses ptrace by the same user and writes no core file. Children are
  // unaffected: exec resets it.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ConfigSource source = find_config_source(config_flag);
  std::optional<Config> config = load_or_report(source);
  if (!config) return kExitConfig;
  if (source.path.empty()) spdlog::warn("using {}", source.describe());
  return run_daemon(std::move(*config), [source] { return source.load(); });
}

}  // namespace agentron
