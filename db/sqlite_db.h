// The one wrapper around SQLite (docs/design.md §2: <sqlite3.h> is included only here).
// Errors come back as values; a connection is an RAII handle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/fs_identity.h"
#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace agentron {

// What an integrity check (PRAGMA integrity_check / quick_check) answers for a sound
// database; anything else is what it found wrong.
inline constexpr const char* kIntegrityOk = "ok";

// A prepared statement: bind (1-based), step, read columns (0-based). RAII.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&&) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  SqliteStatement& bind(int index, std::int64_t value);
  SqliteStatement& bind(int index, const std::string& value);  // empty → NULL
  // true: a row is ready to read; false: done.
  Result<bool> step();
  std::int64_t int64(int column) const;
  std::string text(int column) const;  // NULL → ""
  bool is_null(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

class SqliteDb {
 public:
  enum class Mode {
    read_write,  // existing file only; never created
    create,      // read-write, created if missing
    immutable,   // a file nothing else writes (a snapshot): no locks, no side files
    read_only,   // a live database another process writes: shared locks, no writes
  };

  static Result<SqliteDb> open(const std::filesystem::path& path, Mode mode);
  SqliteDb(SqliteDb&&) noexcept;
  SqliteDb& operator=(SqliteDb&&) noexcept;
  ~SqliteDb();

  Status exec(const std::string& sql);
  Result<SqliteStatement> prepare(const std::string& sql);
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

  // kIntegrityOk, or the problems PRAGMA integrity_check reports, joined by "; ".
  Result<std::string> integrity_check();
  // The same from PRAGMA quick_check: no index-content cross-checks, O(N) not O(N log N).
  Result<std::string> quick_check();
  // Row count of every table (sqlite_master, type 'table').
  Result<std::map<std::string, std::int64_t>> table_counts();

  const std::filesystem::path& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Error error(const std::string& what) const;
  Result<std::string> check(const char* pragma);

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// Puts back rows of `snapshot` (an older copy of the database at `live`) that are no
// longer in `live`: for every table both have, INSERT OR IGNORE of the snapshot's
// rows, in one transaction, so rows added since stay and nothing is overwritten.
// Returns how many rows each table got back. For rows a failed new release deleted
// while the old one kept serving; a row deleted on purpose since the snapshot would
// come back too, so the caller uses it only after a verified loss.
// `app`: the live database is opened and written as that user (common/fs_identity.h) —
// it lies in a folder the app's user controls; the snapshot is attached as root.
Result<std::map<std::string, std::int64_t>> restore_missing_rows(const std::filesystem::path& live,
                                                                 const std::filesystem::path& snapshot,
                                                                 int busy_timeout_ms, const FsIdentity* app = nullptr);

// Checks that `sql` is one read-only statement returning one column, as far as that
// can be told without the database: syntax errors and writing statements are errors;
// a table the empty schema does not know is not (returns ok; it shows at run time).
Status check_count_query(const std::string& sql);

// True if the file starts with the SQLite header "SQLite format 3\0".
bool is_sqlite_file(const std::filesystem::path& path);

}  // namespace agentron
