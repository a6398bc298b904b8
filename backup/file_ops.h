// The file operations a snapshot and a restore are built from: copy with hashing and
// fsync, hash, fsync a folder. Each reports errno as an Error naming the file.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

inline constexpr const char* kIsSqliteCode = "is_sqlite";

struct CopiedFile {
  std::uint64_t size = 0;
  std::string sha256;
};

// Copies `from` into the new file `to` (which must not exist), hashing what it
// writes, and gives it `mode` (permission bits only) and `mtime`. Not fsynced: callers that copy many files
// make them durable together with sync_filesystem().
// With `refuse_sqlite`, a file that turns out to start with the SQLite header is not
// copied raw: the partial copy is removed and the error code is kIsSqliteCode.
Result<CopiedFile> copy_file_hashed(const std::filesystem::path& from, const std::filesystem::path& to, mode_t mode,
                                    const timespec& mtime, bool refuse_sqlite = false);
// The same from a file already open (`from` names it in errors): opened beneath a
// folder with open_beneath, so no symlink swapped in is ever followed.
Result<CopiedFile> copy_file_hashed(UniqueFd in, const std::filesystem::path& from, const std::filesystem::path& to,
                                    mode_t mode, const timespec& mtime, bool refuse_sqlite = false);

// Copies the open file `in` to the open, empty file `out` (`from` and `to` name them
// in errors), hashing what it writes, and gives `out` `mode` (permission bits only)
// and `mtime`. Not fsynced, not closed.
Result<CopiedFile> copy_fd_hashed(int in, int out, const std::string& from, const std::string& to, mode_t mode,
                                  const timespec& mtime);

// openat2(root, relative, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS): the kernel resolves `relative` inside `root` only and
// follows no symlink on the way or at its end, whatever another process does to the
// tree meanwhile. A path that would leave `root` or meet a symlink is refused.
// O_CLOEXEC is added. `root_name` names `root` in errors.
Result<UniqueFd> open_beneath(int root, const std::string& root_name, const std::string& relative, int flags,
                              mode_t mode = 0);

// syncfs(2) on the file system holding `path`: every file written there so far, data
// and metadata, is on disk when it returns. One call instead of thousands of fsyncs.
Status sync_filesystem(const std::filesystem::path& path);

// Hashes a file's contents.
Result<CopiedFile> hash_file(const std::filesystem::path& path);

Status fsync_path(const std::filesystem::path& path);
// Permission bits only: a setuid, setgid or sticky bit in `mode` is never set.
Status set_mode_and_mtime(const std::filesystem::path& path, mode_t mode, const timespec& mtime);
// The same on an open file or folder (`name` names it in errors).
Status set_mode_and_mtime(int fd, const std::string& name, mode_t mode, const timespec& mtime);

// lstat, as a Result.
Result<struct stat> lstat_path(const std::filesystem::path& path);

std::int64_t to_ns(const timespec& t);
timespec from_ns(std::int64_t ns);

}  // namespace agentron
