// The one wrapper around SQLite (DESIGN §2: <sqlite3.h> is included only here).
// Errors come back as values; a connection is an RAII handle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

struct sqlite3;

namespace agentron {

class SqliteDb {
 public:
  enum class Mode {
    read_write,  // existing file only; never created
    create,      // read-write, created if missing
    immutable,   // a file nothing else writes (a snapshot): no locks, no side files
  };

  static Result<SqliteDb> open(const std::filesystem::path& path, Mode mode);
  SqliteDb(SqliteDb&&) noexcept;
  SqliteDb& operator=(SqliteDb&&) noexcept;
  ~SqliteDb();

  Status exec(const std::string& sql);
  // The first column of the first row, as an integer.
  Result<std::int64_t> query_int(const std::string& sql);
  // The first column of the first row, as text.
  Result<std::string> query_text(const std::string& sql);
  void busy_timeout(int ms);

  // Copies the whole database into `destination` (a new file) through the online
  // backup API, in one step: the copy is one consistent state of the database, taken
  // under a read transaction (in rollback-journal mode the app's writers wait, up
  // to their busy timeout, while it runs; in WAL mode they do not).
  Status backup_to(const std::filesystem::path& destination);

  // "ok", or the problems PRAGMA integrity_check reports, joined by "; ".
  Result<std::string> integrity_check();
  // Row count of every table (sqlite_master, type 'table').
  Result<std::map<std::string, std::int64_t>> table_counts();

  const std::filesystem::path& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Error error(const std::string& what) const;

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// True if the file starts with the SQLite header "SQLite format 3\0".
bool is_sqlite_file(const std::filesystem::path& path);

}  // namespace agentron
