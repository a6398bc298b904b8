#include <cstdio>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "db/sqlite_db.h"

namespace agentron {
namespace {

// A count query's tables are the app's: they can be checked only against its
// database, and only once it exists. Read-only, like the probe itself.
bool check_counts_against_database(const Config& config) {
  if (config.health.verification != VerificationKind::probe) return true;
  auto path = config.app.data_dir / config.health.database;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return true;  // a first start: nothing to check against yet
  auto db = SqliteDb::open(path, SqliteDb::Mode::read_only);
  if (!db) {
    std::fprintf(stderr, "%s: %s\n", config.source.c_str(), db.error().message.c_str());
    return false;
  }
  db->busy_timeout(2000);
  bool ok = true;
  for (const auto& [name, sql] : config.health.counts) {
    if (auto n = db->query_int(sql); !n) {
      std::fprintf(stderr, "%s: [health] counts.%s fails against the app's database: %s\n", config.source.c_str(),
                   name.c_str(), n.error().message.c_str());
      ok = false;
    }
  }
  return ok;
}

}  // namespace

int cmd_config_check(const std::string& config_flag) {
  ConfigSource source = find_config_source(config_flag);
  std::optional<Config> config = load_or_report(source);
  if (!config) return kExitConfig;
  for (const auto& w : config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (source.path.empty()) std::fprintf(stderr, "note: using %s\n", source.describe().c_str());
  std::fputs(to_toml(*config).c_str(), stdout);
  return check_counts_against_database(*config) ? kExitOk : kExitConfig;
}

}  // namespace agentron
