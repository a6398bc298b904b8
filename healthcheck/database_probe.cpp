#include "healthcheck/database_probe.h"

#include "db/sqlite_db.h"

namespace agentron {
namespace {

constexpr int kBusyRetries = 3;

}  // namespace

Result<DatabaseProbe> probe_database(const std::filesystem::path& database,
                                     const std::map<std::string, std::string>& counts, Duration busy_timeout,
                                     bool check_integrity, const FsIdentity* reader) {
  // [app] user: the app's database, read as that user — it lies in a folder the app
  // controls, and a symlink there must lead nowhere the app could not go itself.
  ActingAs as_reader(reader);
  if (!as_reader.ok()) return as_reader.status().error();
  auto begin = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!std::filesystem::exists(database, ec)) {
    return Error{"no_database", "no database at " + database.string() + " ([health] database, relative to data_dir)"};
  }
  auto db = SqliteDb::open(database, SqliteDb::Mode::read_only);
  if (!db) return db.error();
  db->busy_timeout(static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(busy_timeout).count()));
  DatabaseProbe probe;
  for (const auto& [name, sql] : counts) {
    // A busy app (a write every few ms, rollback journal) can keep a reader out past
    // one busy_timeout when the machine is loaded: a few more tries before "failed".
    auto n = db->query_int(sql);
    for (int more = 0; more < kBusyRetries && !n && n.error().message.find("locked") != std::string::npos; ++more)
      n = db->query_int(sql);
    if (!n) return Error{"count_failed", "[health] counts." + name + " failed: " + n.error().message};
    probe.counts[name] = *n;
  }
  auto counted = std::chrono::steady_clock::now();
  probe.counts_took = counted - begin;
  if (!check_integrity) return probe;
  auto mode = db->query_text("PRAGMA journal_mode");
  if (!mode) return mode.error();
  Result<std::string> integrity = std::string();
  if (*mode != "wal") {
    auto unlocked = SqliteDb::open(database, SqliteDb::Mode::immutable);
    if (unlocked) integrity = unlocked->quick_check();
  }
  if (*mode == "wal" || !integrity || *integrity != kIntegrityOk) {
    probe.checked_under_lock = true;
    integrity = db->quick_check();
  }
  // A check that cannot even finish (SQLITE_CORRUPT) found a problem too.
  probe.integrity = integrity ? *integrity : integrity.error().message;
  probe.check_took = std::chrono::steady_clock::now() - counted;
  return probe;
}

}  // namespace agentron
