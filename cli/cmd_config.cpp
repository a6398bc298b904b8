#include <cstdio>

#include "cli/commands.h"
#include "cli/config_source.h"

namespace agentron {

int cmd_config_check(const std::string& config_flag) {
  ConfigSource source = find_config_source(config_flag);
  std::optional<Config> config = load_or_report(source);
  if (!config) return kExitConfig;
  for (const auto& w : config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (source.path.empty()) std::fprintf(stderr, "note: using %s\n", source.describe().c_str());
  std::fputs(to_toml(*config).c_str(), stdout);
  return kExitOk;
}

}  // namespace agentron
