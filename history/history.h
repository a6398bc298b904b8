// The ledger (docs/design.md §5): <data_dir>/.supervisor/history.sqlite, written only by the
// supervisor. Instance events (started, ready, exited, verified, ...) and restart
// requests — one row per request plus one row per phase it went through. Nothing is
// ever deleted by normal operation. WAL mode and synchronous=FULL: a row is on disk
// when record() returns, and a SIGKILL at any moment leaves the database consistent.
//
// The schema is versioned with PRAGMA user_version and migrated forward on open; a
// database from a newer version is refused, never written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "db/sqlite_db.h"

namespace agentron {

// What happened to an instance (events.kind).
namespace event {
inline constexpr const char* supervisor_started = "supervisor_started";
inline constexpr const char* supervisor_stopped = "supervisor_stopped";
inline constexpr const char* instance_started = "instance_started";
inline constexpr const char* instance_ready = "instance_ready";
inline constexpr const char* readiness_failed = "readiness_failed";
inline constexpr const char* instance_exited = "instance_exited";  // on its own: a crash or a clean exit
inline constexpr const char* instance_stopped = "instance_stopped";
inline constexpr const char* instance_failed = "instance_failed";  // the restart policy gave up
inline constexpr const char* verified = "verified";
inline constexpr const char* verification_failed = "verification_failed";
inline constexpr const char* backup_restored = "backup_restored";  // detail: snapshot, where the replaced data went
inline constexpr const char* restore_failed = "restore_failed";    // detail: snapshot and why; nothing changed
}  // namespace event

struct HistoryEvent {
  std::int64_t id = 0;  // set when read back
  std::string at;       // UTC ISO 8601 with ms; now() if empty
  std::string kind;     // event::…
  std::string instance_id;
  std::int64_t pid = 0;
  std::string release;
  std::string commit;
  std::string detail;  // exit status, reason, what was done
  std::map<std::string, std::int64_t> counts;
  std::string integrity;
  std::string request_id;
};

// A restart request (the handover issue writes these): one row, updated as it moves.
struct HistoryRequest {
  std::string id;
  std::string received_at;
  std::string branch;
  std::string commit;
  std::string summary;
  std::string requested_by;
  std::string run_id;
  std::string state;  // requested, awaiting_approval, ..., done, rolled_back, rejected
  std::string updated_at;
  std::string reason;
  std::string backup_path;
  std::map<std::string, std::int64_t> baseline_counts;
  std::map<std::string, std::int64_t> verified_counts;
};

struct HistoryPhase {
  std::string phase;
  std::string at;
  std::string detail;
};

class History {
 public:
  static constexpr int kSchemaVersion = 2;

  // Opens (creating if needed) and migrates to kSchemaVersion.
  static Result<History> open(const std::filesystem::path& path);
  // Opens an existing ledger for reading only (the CLI): never creates or migrates.
  static Result<History> open_read_only(const std::filesystem::path& path);
  // For tests of the migrations: creates a ledger at exactly `version`.
  static Result<History> create_at_version(const std::filesystem::path& path, int version);

  Result<std::int64_t> record(HistoryEvent event);
  // Newest first.
  Result<std::vector<HistoryEvent>> events(int limit);
  Result<std::optional<HistoryEvent>> last_of(const std::vector<std::string>& kinds);

  Status upsert_request(const HistoryRequest& request);
  Status add_phase(const std::string& request_id, const std::string& phase, const std::string& detail);
  // Newest first, skipping the `offset` newest.
  Result<std::vector<HistoryRequest>> requests(int limit, int offset = 0);
  // A request's phases, oldest first.
  Result<std::vector<HistoryPhase>> phases(const std::string& request_id);
  // The newest request that has not reached done, rolled_back or rejected.
  Result<std::optional<HistoryRequest>> unfinished_request();

  Result<int> schema_version();

 private:
  explicit History(SqliteDb db) : db_(std::move(db)) {}
  Status migrate(int to_version);
  Result<std::vector<HistoryRequest>> select_requests(const std::string& where, int limit, int offset = 0);

  SqliteDb db_;
};

std::filesystem::path history_path(const std::filesystem::path& state_dir);

}  // namespace agentron
