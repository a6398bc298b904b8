#include "cli/config_source.h"

#include <cstdio>
#include <filesystem>

#include "launcher/posix_spawner.h"

namespace agentron {

std::string demo_config_toml() {
  // Literal TOML strings ('...') so the executable's path needs no escaping.
  std::string bin = executable_dir().string();
  return "# embedded demo config: the bundled test app, supervised with the default policy\n"
         "[app]\n"
         "data_dir = 'agentron-demo-data'\n"
         "release  = '" +
         bin +
         "'\n"
         "command  = ['{release}/agentron-fixture']\n"
         "working_dir = '{data_dir}'\n"
         "env      = { HOSTNAME = '127.0.0.1' }\n"
         "port     = 3000\n";
}

ConfigSource find_config_source(const std::string& flag_value) {
  return ConfigSource{locate_config(flag_value).string()};
}

ConfigResult ConfigSource::load() const {
  if (!path.empty()) return load_config_file(path);
  return parse_config(demo_config_toml(), "<embedded demo config>", std::filesystem::current_path());
}

std::string ConfigSource::describe() const {
  if (!path.empty()) return path;
  return "the embedded demo config (no --config given, $AGENTRON_SUPERVISOR_CONFIG unset, "
         "no ./agentron-supervisor.toml)";
}

std::optional<Config> load_or_report(const ConfigSource& source) {
  ConfigResult result = source.load();
  for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!result.config) {
    std::fprintf(stderr, "config has %zu error(s); nothing was started or changed\n", result.errors.size());
  }
  return std::move(result.config);
}

}  // namespace agentron
