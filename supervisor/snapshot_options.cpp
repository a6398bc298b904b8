#include "supervisor/snapshot_options.h"

#include "backup/backup_key.h"
#include "launcher/instance_spec.h"
#include "launcher/run_as.h"

namespace agentron {

Result<SnapshotOptions> snapshot_options(const Config& config, std::string kind, std::string request_id) {
  auto reader = app_fs_identity(config.app.user, config.app.group);
  if (!reader) return reader.error();
  SnapshotOptions options{config.app.data_dir,
                          config.backup.dir,
                          config.backup.exclude,
                          std::move(kind),
                          std::move(request_id),
                          backup_key_file(state_dir(config.app)),
                          *reader,
                          config.health.database};
  return options;
}

}  // namespace agentron
