#include "cli/control_api_client.h"

#include <fstream>

#include "control/control_client.h"
#include "launcher/instance_spec.h"

namespace agentron {

Result<std::string> read_token(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    return Error{"no_token", "cannot read the control API's token " + file.string() +
                                 " — the supervisor creates it when it first starts with [control]; start it, "
                                 "and run this as a user who may read that file"};
  }
  return token;
}

Result<std::string> listen_address(const Config& config) {
  if (config.control.listen_port != 0) return control_listen_address(config.control);
  auto status = control_request(state_dir(config.app) / "control.sock", StatusRequest{});
  if (status && status->value("ok", false) && (*status)["data"].contains("control_api") &&
      (*status)["data"]["control_api"].is_object())
    return (*status)["data"]["control_api"].value("listen", std::string());
  return Error{"no_port",
               "[control] listen has port 0 (any free one): start the supervisor so it can say which, "
               "or set a port"};
}

}  // namespace agentron
