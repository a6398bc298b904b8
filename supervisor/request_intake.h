// Watches <data_dir>/.supervisor/requests/ for restart requests: inotify (a file
// renamed or written in), a rescan at start, and rescan() on SIGUSR2. Each *.json
// file is handed over once; the handler moves it to processed/ or rejected/, so a
// rescan never sees it again. Temp files (anything not ending in .json) are ignored.
//
// Whoever can write into this folder can make the supervisor build and run code, so
// a folder writable by group or others, a file owned by another user, or anything
// that is not a regular file is refused (the handler is told why).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace agentron {

class RequestIntake {
 public:
  // `file` is the request; `refused` is ok, or why it must be rejected unread.
  using Handler = std::function<void(const std::filesystem::path& file, Status refused)>;

  // Creates the folder (0700) with processed/ and rejected/ if missing.
  static Result<std::unique_ptr<RequestIntake>> open(boost::asio::io_context& io, std::filesystem::path dir,
                                                     Handler handler);
  ~RequestIntake();

  // Hands over every *.json file now in the folder, oldest name first.
  void rescan();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  RequestIntake(boost::asio::io_context& io, std::filesystem::path dir, int fd, Handler handler);
  void watch();
  void hand_over(const std::filesystem::path& file);

  std::filesystem::path dir_;
  boost::asio::posix::stream_descriptor inotify_;
  Handler handler_;
  std::vector<char> buffer_ = std::vector<char>(16 * 1024);
};

// Moves a request file to <requests>/rejected/ with a <name>.reason beside it.
void reject_request_file(const std::filesystem::path& file, const std::string& reason);
// Moves a request file to <requests>/processed/.
void archive_request_file(const std::filesystem::path& file);

}  // namespace agentron
