// Where `run`, `status` and `config check` get their config: --config F, else
// $AGENTRON_SUPERVISOR_CONFIG, else ./agentron-supervisor.toml, else the embedded
// demo config (the bundled test app on ./agentron-demo-data).
#pragma once

#include <optional>
#include <string>

#include "config/config.h"

namespace agentron {

struct ConfigSource {
  std::string path;  // empty: the embedded demo config
  ConfigResult load() const;
  std::string describe() const;
};

ConfigSource find_config_source(const std::string& flag_value);

// The embedded demo config, with the fixture app next to this executable.
std::string demo_config_toml();

// Loads the config; on errors prints each as file:line:column: message on stderr and
// returns nullopt (the caller exits with kExitConfig).
std::optional<Config> load_or_report(const ConfigSource& source);

// The state dir a verb looks at: --state-dir, else <--data-dir>/.supervisor (no config
// needed, so it works next to a supervisor whatever config it was started with), else
// the config's [app] state_dir. nullopt after reporting a config error.
std::optional<std::filesystem::path> state_dir_from(const std::string& config_flag, const std::string& data_dir_flag,
                                                    const std::string& state_dir_flag);

}  // namespace agentron
