// Turns the [app] config into the SpawnSpec of one instance: placeholders expanded,
// the environment of docs/design.md §5, and its log files under .supervisor/instances/<id>/.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "launcher/process.h"

namespace agentron {

struct InstancePaths {
  std::filesystem::path dir;  // <state_dir>/instances/<id>: the supervisor's
  // [app] user: the app's record goes in app/, the one folder here the app's user owns
  // (the rest — logs, the supervisor's own record — it cannot touch).
  bool app_folder = false;
  std::filesystem::path stdout_log() const { return dir / "stdout.log"; }
  std::filesystem::path stderr_log() const { return dir / "stderr.log"; }
  // The supervisor's verification record (verification = "probe").
  std::filesystem::path verification_file() const { return dir / "verification.json"; }
  std::filesystem::path app_dir() const { return dir / "app"; }
  // Where the app writes its record: AGENTRON_VERIFICATION_FILE.
  std::filesystem::path app_record_file() const {
    return app_folder ? app_dir() / "verification.json" : verification_file();
  }
  // Where verification reads the record: the app's (record) or the supervisor's (probe).
  std::filesystem::path record_for(VerificationKind kind) const {
    return kind == VerificationKind::record ? app_record_file() : verification_file();
  }
};

// [app] state_dir (default <data_dir>/.supervisor): the supervisor's own state, never
// snapshotted (docs/design.md §3).
std::filesystem::path state_dir(const AppConfig& app);
InstancePaths instance_paths(const AppConfig& app, const std::string& instance_id);

// Creates the instance's folder; with [app] user also its app/ folder, given to that user.
Status make_instance_dir(const AppConfig& app, const std::string& instance_id);

// The commit a release was built from (its release.json), or "" if unknown.
std::string release_commit(const std::filesystem::path& release);

// `inherited` is the supervisor's own environment ("NAME=value"); the result keeps it
// (except AGENTRON_FORK_TOKEN: the agent in the app never gets the fork's token),
// overlays [app] env, then sets the §5 variables, so AGENTRON_DATA_DIR is always the
// pinned absolute data dir whatever the supervisor itself was started with.
// `port` is the instance's PORT and {port} (the [app] port, or the handover's
// alternate port for the new instance of an overlap handover).
SpawnSpec make_spawn_spec(const Config& config, const std::filesystem::path& release, int port,
                          const std::string& instance_id, const std::vector<std::string>& inherited);
SpawnSpec make_spawn_spec(const Config& config, const std::filesystem::path& release, const std::string& instance_id,
                          const std::vector<std::string>& inherited);

// The supervisor's environment as "NAME=value" strings.
std::vector<std::string> current_environment();

}  // namespace agentron
