#include "control/socket_path.h"

#include <fcntl.h>
#include <sys/un.h>

#include <cerrno>

namespace agentron {

Result<SocketAddress> socket_address(const std::filesystem::path& socket_path) {
  constexpr size_t kMax = sizeof(sockaddr_un{}.sun_path) - 1;
  if (socket_path.string().size() <= kMax) return SocketAddress{socket_path.string(), UniqueFd()};
  UniqueFd folder(::open(socket_path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!folder.valid()) return errno_error("bad_path", "cannot open " + socket_path.parent_path().string(), errno);
  std::string path = "/proc/self/fd/" + std::to_string(folder.get()) + "/" + socket_path.filename().string();
  if (path.size() > kMax) return Error{"bad_path", "socket name too long: " + socket_path.string()};
  return SocketAddress{path, std::move(folder)};
}

}  // namespace agentron
