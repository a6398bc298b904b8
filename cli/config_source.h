// Where `run`, `status` and `config check` get their config: --config F, else
// $AGENTRON_SUPERVISOR_CONFIG, else ./agentron-supervisor.toml, else the embedded
// demo config (the bundled test app on ./agentron-demo-data).
#pragma once

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

// Prints every error as file:line:column: message on stderr.
void print_config_errors(const ConfigResult& result);

}  // namespace agentron
