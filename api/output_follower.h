// Follows a file another process appends to — a job's output.log, where agentron-fork
// and the build it runs write — and hands each new complete line to a callback on the
// loop as the kernel reports the writes (inotify IN_MODIFY): the MCP endpoint's
// progress notifications. Lines already in the file when following starts come first.
// A line longer than 4 KiB is cut there; a last line without its newline is handed
// over by flush().
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

class OutputFollower {
 public:
  using OnLines = std::function<void(std::vector<std::string> lines)>;

  // Starts following `file` (which must exist). `on_lines` never runs after the
  // follower is destroyed.
  static Result<std::unique_ptr<OutputFollower>> follow(boost::asio::io_context& io, const std::filesystem::path& file,
                                                        OnLines on_lines);
  ~OutputFollower();
  OutputFollower(const OutputFollower&) = delete;
  OutputFollower& operator=(const OutputFollower&) = delete;

  // Reads what was written since the last event, and hands over a partial last line too.
  void flush();

 private:
  OutputFollower(boost::asio::io_context& io, int inotify_fd, UniqueFd file, OnLines on_lines);
  void watch();
  void read_new(bool with_partial);

  boost::asio::posix::stream_descriptor inotify_;
  UniqueFd file_;
  OnLines on_lines_;
  std::string partial_;
  std::array<char, 4096> events_{};
};

}  // namespace agentron
