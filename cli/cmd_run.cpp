#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "supervisor/daemon.h"

namespace agentron {

int cmd_run(const std::string& config_flag) {
  ConfigSource source = find_config_source(config_flag);
  std::optional<Config> config = load_or_report(source);
  if (!config) return kExitConfig;
  if (source.path.empty()) spdlog::warn("using {}", source.describe());
  return run_daemon(std::move(*config), [source] { return source.load(); });
}

}  // namespace agentron
