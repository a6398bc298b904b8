// Watches the requests folder (<state_dir>/requests/) for restart requests: inotify
// (a file renamed or written in), a rescan at start, and rescan() on SIGUSR2. Each
// *.json file is read once and handed over; the handler then moves it into the
// supervisor's archive (<state_dir>/request-archive/processed/ or rejected/), so a
// rescan never sees it again. Temp files (anything not ending in .json) are ignored.
//
// Whoever can write into this folder can make the supervisor build and run code, so
// a folder writable by group or others, and a file owned by anyone but the supervisor's
// user or the folder's writer ([app] user), are refused; what is read is read through
// one no-follow descriptor: a regular file with one link, at most 64 KiB.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace agentron {

struct IntakeFolders {
  std::filesystem::path incoming;  // <state_dir>/requests
  std::filesystem::path archive;   // <state_dir>/request-archive: the supervisor's alone
  // [app] user: the folder is that user's, and files it writes are accepted (as
  // untrusted input, like any request). nullopt: the supervisor's user only.
  std::optional<uid_t> writer;
};

inline constexpr size_t kMaxRequestBytes = 64 * 1024;

class RequestIntake {
 public:
  // `file` is the request; `text` its content, or why it must be rejected unread.
  using Handler = std::function<void(const std::filesystem::path& file, Result<std::string> text)>;

  // Creates the incoming folder (0700, the writer's) and the archive if missing.
  static Result<std::unique_ptr<RequestIntake>> open(boost::asio::io_context& io, IntakeFolders folders,
                                                     Handler handler);
  ~RequestIntake();

  // Hands over every *.json file now in the folder, oldest name first.
  void rescan();
  const std::filesystem::path& dir() const { return folders_.incoming; }

  // Takes a request file out of the folder into the archive's rejected/, with a
  // <name>.reason beside it. The archive holds only what the supervisor writes: a copy
  // of `text` (what was read, if anything), never the writer's own file.
  void reject(const std::filesystem::path& file, const std::string& reason, const std::string& text = "") const;
  // The same into processed/.
  void archive(const std::filesystem::path& file, const std::string& text) const;
  // Whether a request of this id was taken before (it is in the archive).
  bool seen(const std::string& id) const;
  // A request refused after it was archived (denied, or not on the fork): processed/ → rejected/.
  void reject_archived(const std::string& id, const std::string& reason) const;

 private:
  RequestIntake(boost::asio::io_context& io, IntakeFolders folders, int fd, Handler handler);
  void watch();
  void hand_over(const std::filesystem::path& file);
  Result<std::string> read_trusted(const std::filesystem::path& file) const;

  IntakeFolders folders_;
  boost::asio::posix::stream_descriptor inotify_;
  Handler handler_;
  std::vector<char> buffer_ = std::vector<char>(16 * 1024);
};

}  // namespace agentron
