#include "cli/config_source.h"

#include <cstdio>
#include <filesystem>

#include "launcher/instance_spec.h"
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
         "port     = 3000\n"
         "[health]\n"
         "# ready when GET /api/setup/status answers 2xx (as Agentron's does); then the\n"
         "# supervisor counts agents and runs itself, read-only, and records them\n"
         "readiness    = 'http'\n"
         "verification = 'probe'\n";
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

std::optional<std::filesystem::path> state_dir_from(const std::string& config_flag, const std::string& data_dir_flag,
                                                    const std::string& state_dir_flag) {
  if (!state_dir_flag.empty()) return std::filesystem::absolute(state_dir_flag);
  if (!data_dir_flag.empty()) return std::filesystem::absolute(data_dir_flag) / ".supervisor";
  std::optional<Config> config = load_or_report(find_config_source(config_flag));
  if (!config) {
    std::fprintf(stderr, "(to read a supervisor's state anyway, pass --state-dir or --data-dir)\n");
    return std::nullopt;
  }
  return state_dir(config->app);
}

}  // namespace agentron
