#include "control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "control/socket_path.h"

namespace agentron {

Result<nlohmann::json> control_request(const std::filesystem::path& socket_path, const ControlRequest& request,
                                       int timeout_seconds) {
  std::error_code ec;
  if (!std::filesystem::exists(socket_path, ec)) {
    return Error{control_error::not_running, "no agentron-supervisor is running here (" + socket_path.string() +
                                                 " does not exist); start one with `agentron-supervisor run`"};
  }
  auto address = socket_address(socket_path);
  if (!address) return address.error();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, address->path.c_str(), sizeof addr.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket_failed", "socket", errno);
  timeval timeout{timeout_seconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED) {
      return Error{control_error::not_running, "no agentron-supervisor is running here (nothing listens on " +
                                                   socket_path.string() +
                                                   "); start one with `agentron-supervisor run`"};
    }
    return errno_error("connect_failed", "cannot connect to " + socket_path.string(), err);
  }
  std::string line = to_json(request).dump() + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return errno_error("send_failed", "cannot send to " + socket_path.string(), errno);
  }
  std::string response;
  char buf[4096];
  while (response.find('\n') == std::string::npos) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("recv_failed", "no answer from " + socket_path.string(), errno);
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  auto doc = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Error{"bad_response", "the supervisor sent an unreadable answer"};
  return doc;
}

}  // namespace agentron
