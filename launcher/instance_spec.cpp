#include "launcher/instance_spec.h"

#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/private_dir.h"
#include "config/placeholders.h"
#include "launcher/run_as.h"

extern char** environ;

namespace agentron {
namespace fs = std::filesystem;

fs::path state_dir(const AppConfig& app) {
  return app.state_dir.empty() ? app.data_dir / ".supervisor" : app.state_dir;
}

InstancePaths instance_paths(const AppConfig& app, const std::string& instance_id) {
  return InstancePaths{state_dir(app) / "instances" / instance_id, !app.user.empty()};
}

Status make_instance_dir(const AppConfig& app, const std::string& instance_id) {
  InstancePaths paths = instance_paths(app, instance_id);
  if (!paths.app_folder) return make_dir(paths.dir, 0755);
  if (auto s = make_dir(paths.dir, 0711); !s) return s;  // the app passes through to app/, sees nothing else
  auto who = resolve_run_as(app.user, app.group);
  if (!who) return who.error();
  if (auto s = make_dir(paths.app_dir(), 0700); !s) return s;
  if (::chown(paths.app_dir().c_str(), who->uid, who->gid) != 0)
    return errno_error("chown_failed", "cannot give " + paths.app_dir().string() + " to [app] user " + who->user,
                       errno);
  return ok_status();
}

std::string release_commit(const fs::path& release) {
  std::ifstream in(release / "release.json");
  if (!in) return "";
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("commit") || !doc["commit"].is_string()) return "";
  return doc["commit"].get<std::string>();
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

SpawnSpec make_spawn_spec(const Config& config, const fs::path& release, const std::string& instance_id,
                          const std::vector<std::string>& inherited) {
  return make_spawn_spec(config, release, config.app.port, instance_id, inherited);
}

SpawnSpec make_spawn_spec(const Config& config, const fs::path& release, int port, const std::string& instance_id,
                          const std::vector<std::string>& inherited) {
  const AppConfig& app = config.app;
  InstancePaths paths = instance_paths(app, instance_id);
  PlaceholderValues values{release.string(), std::to_string(port), app.data_dir.string(), instance_id};

  SpawnSpec spec;
  for (const auto& arg : app.command) spec.argv.push_back(expand_placeholders(arg, values));
  fs::path working_dir(expand_placeholders(app.working_dir, values));
  spec.working_dir = (working_dir.is_absolute() ? working_dir : config.base_dir / working_dir).lexically_normal();

  std::map<std::string, std::string> env;
  for (const auto& entry : inherited) {
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  // The app hosts the agent: the fork's token is agentron-fork's alone (docs/security.md).
  env.erase("AGENTRON_FORK_TOKEN");
  for (const auto& [name, value] : app.env) env[name] = expand_placeholders(value, values);
  env["AGENTRON_DATA_DIR"] = app.data_dir.string();
  env["PORT"] = std::to_string(port);
  env["AGENTRON_INSTANCE_ID"] = instance_id;
  env["AGENTRON_VERIFICATION_FILE"] = paths.app_record_file().string();
  env["AGENTRON_RELEASE_COMMIT"] = release_commit(release);
  // Where the agent asks for a restart (`agentron-supervisor request-restart` reads it).
  if (config.fork.configured) env["AGENTRON_REQUESTS_DIR"] = (state_dir(app) / "requests").string();
  for (const auto& [name, value] : env) spec.env.push_back(name + "=" + value);

  spec.stdout_log = paths.stdout_log();
  spec.stderr_log = paths.stderr_log();
  spec.log_max_size = app.log_max_size;
  spec.log_keep = app.log_keep;
  spec.run_as_user = app.user;
  spec.run_as_group = app.group;
  return spec;
}

}  // namespace agentron
