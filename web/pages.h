// The control API's pages (docs/operations.md, "Following improvements in the
// browser"), rendered on the server from the same JSON the /v1 routes answer with:
// Now, Pending approvals, Platform history, Backups. Pure functions of their input, so
// the escaping of every field the agent wrote (summary, branch, requested_by, reasons)
// is tested without a browser; they read fine without JavaScript, and /assets/page.js
// only refreshes them. No external font, script or style: everything is served here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace agentron {

// `text` safe between tags and inside a double-quoted attribute.
std::string html_escape(std::string_view text);

// https://github.com/O/R/commit/SHA for an https GitHub-style fork URL
// (https://HOST/OWNER/REPO[.git]); "" for anything else (file://, ssh, scp form).
std::string commit_web_url(std::string_view fork_url, std::string_view commit);

struct PageContext {
  std::string csrf;      // the session's, for every form
  std::string fork_url;  // [fork] fork_url: commits link to its web page when it has one
  std::string data_dir;  // for the confirmation text ("your data will stay in …")
  int pending = 0;       // requests awaiting approval, shown in the navigation
};

// Now: `status` is GET /v1/status.
std::string render_now(const nlohmann::json& status, const PageContext& page);
// Pending approvals: `requests` is GET /v1/requests' "requests", newest first.
std::string render_approvals(const nlohmann::json& requests, const PageContext& page);
// Platform history: one page of requests (offset `offset`, `more` if older ones
// follow) and the ledger's crashes, restarts and rollbacks (`events`, newest first).
std::string render_history(const nlohmann::json& requests, int offset, int page_size, bool more,
                           const nlohmann::json& events, const PageContext& page);
// Backups: GET /v1/backups' "backups"; `config` names the config for the restore command.
std::string render_backups(const nlohmann::json& backups, std::string_view config, const PageContext& page);
// A page with only a heading and a message (a refused login, an unknown request).
std::string render_message(std::string_view title, std::string_view message);

// The seed's confirmation text for a request awaiting approval.
std::string confirmation_text(const nlohmann::json& request, std::string_view data_dir);

}  // namespace agentron
