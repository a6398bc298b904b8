// Unix socket paths are limited to 107 bytes (sun_path), and a data dir can be deeper
// than that. A long path is reached through an O_PATH descriptor of its folder:
// /proc/self/fd/<n>/control.sock resolves to the same file for bind() and connect().
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

struct SocketAddress {
  std::string path;  // what to pass to bind()/connect()
  UniqueFd folder;   // keeps /proc/self/fd/<n> valid while path is used
};

Result<SocketAddress> socket_address(const std::filesystem::path& socket_path);

}  // namespace agentron
