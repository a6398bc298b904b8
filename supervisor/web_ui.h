// The control API's pages in the browser (docs/operations.md, "Following improvements
// in the browser"): Now, Pending approvals, Platform history and Backups, served from
// the [control] listener beside /v1. Every read and every approve or deny goes through
// ControlApi with the operator's role — the same code path as the CLI and the /v1
// routes. Who may see them: a browser session opened with a one-time login code
// (web/browser_sessions.h) that only the control socket's user can ask for (the
// login_code request, what `agentron-supervisor open` sends): no token crosses TCP
// for it, so a process squatting the port while the supervisor is down learns none.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "common/clock.h"
#include "config/config.h"
#include "supervisor/control_api.h"
#include "web/browser_sessions.h"

namespace agentron {

class WebUi {
 public:
  // `config_path`: the file the supervisor runs with (for the commands the pages show); empty: embedded.
  WebUi(const Clock& clock, const Config& config, std::filesystem::path config_path, ControlApi& api);

  // The requests WebUi answers: the pages, their assets, /login and /logout. They need
  // no bearer token (a session instead).
  static bool serves(const HttpRequest& head);

  void handle(const HttpRequest& request, std::shared_ptr<HttpResponder> respond);
  // A one-time login code (the control socket's login_code).
  Result<std::string> issue_login_code();

 private:
  void log_in(const HttpRequest& request, const std::shared_ptr<HttpResponder>& respond);
  void page(const HttpRequest& request, const BrowserSession& session, std::shared_ptr<HttpResponder> respond);
  void form(const HttpRequest& request, const BrowserSession& session, const std::shared_ptr<HttpResponder>& respond);

  const Clock& clock_;
  const Config& config_;
  std::filesystem::path config_path_;
  ControlApi& api_;
  BrowserSessions sessions_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace agentron
