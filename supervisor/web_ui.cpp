#include "supervisor/web_ui.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <vector>

#include "api/request_guard.h"
#include "api/router.h"
#include "common/duration.h"
#include "web/pages.h"
#include "web/web_assets.h"

namespace agentron {
namespace {

using nlohmann::json;

constexpr std::string_view kCookie = "agentron_session";
constexpr int kHistoryPage = 25;

void add_page_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                         "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

HttpResponse html(http::status status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "text/html; charset=utf-8";
  add_page_headers(r);
  return r;
}

HttpResponse message(http::status status, std::string_view title, std::string_view text) {
  return html(status, render_message(title, text));
}

HttpResponse see_other(std::string location) {
  HttpResponse r = html(http::status::see_other, "");
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (size_t start = 1; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == path.npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool page_path(std::string_view path) {
  return path == "/" || path == "/approvals" || path == "/history" || path == "/backups";
}

// POST /approvals/<id>/approve or /deny.
bool decision_path(std::string_view path) {
  auto parts = segments(path);
  return parts.size() == 3 && parts[0] == "approvals" && !parts[1].empty() &&
         (parts[2] == "approve" || parts[2] == "deny");
}

// The session cookie's value from every Cookie header, "" if none.
std::string session_cookie(const HttpRequest& request) {
  for (const auto& field : request.headers) {
    if (field.name() != http::field::cookie) continue;
    std::string_view cookies(field.value().data(), field.value().size());
    while (!cookies.empty()) {
      size_t end = cookies.find(';');
      std::string_view pair = cookies.substr(0, end);
      cookies = end == cookies.npos ? std::string_view() : cookies.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.substr(0, kCookie.size() + 1) == std::string(kCookie) + "=") {
        return std::string(pair.substr(kCookie.size() + 1));
      }
    }
  }
  return "";
}

int pending_in(const json& requests) {
  int n = 0;
  for (const auto& r : requests) n += r.value("state", "") == "awaiting_approval";
  return n;
}

// The error of a /v1 answer, as the page shows it.
std::string error_text(const ApiResponse& answer) {
  if (answer.body.is_object() && answer.body.contains("error")) return answer.body["error"].value("message", "");
  return "the supervisor answered " + std::to_string(answer.status);
}

}  // namespace

WebUi::WebUi(const Clock& clock, const Config& config, std::filesystem::path config_path, ControlApi& api)
    : clock_(clock),
      config_(config),
      config_path_(std::move(config_path)),
      api_(api),
      sessions_(clock, config.control.login_link_lifetime) {}

bool WebUi::serves(const HttpRequest& head) {
  std::string_view path = head.path;
  return page_path(path) || path == "/login" || path == "/logout" || path.rfind("/assets/", 0) == 0 ||
         decision_path(path);
}

void WebUi::handle(const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
  if (request.path.rfind("/assets/", 0) == 0) {
    const WebAsset* asset = find_web_asset(request.path);
    if (!asset || request.method != http::verb::get) {
      return respond->respond(json_error(http::status::not_found, http_error::not_found, "no such asset"));
    }
    HttpResponse r;
    r.body = std::string(asset->body);
    r.content_type = std::string(asset->content_type);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return respond->respond(std::move(r));
  }
  if (request.path == "/login") return log_in(request, respond);
  const BrowserSession* session = sessions_.find(session_cookie(request));
  if (!session) {
    return respond->respond(message(http::status::unauthorized, "Sign in",
                                    "This page needs a browser session. On this machine, run `agentron-supervisor "
                                    "open` for a one-time login link."));
  }
  if (request.method == http::verb::get && page_path(request.path)) return page(request, *session, respond);
  if (request.method == http::verb::post && !page_path(request.path)) return form(request, *session, respond);
  respond->respond(message(http::status::method_not_allowed, "Not here", "This page does not take that method."));
}

Result<std::string> WebUi::issue_login_code() {
  auto code = sessions_.issue_code();
  if (code) {
    spdlog::info("control API: issued a one-time login code (valid {} s, for one browser session)",
                 std::chrono::duration_cast<std::chrono::seconds>(sessions_.code_lifetime()).count());
  }
  return code;
}

void WebUi::log_in(const HttpRequest& request, const std::shared_ptr<HttpResponder>& respond) {
  auto query = parse_query(request.query);
  auto redeemed = sessions_.redeem(query.count("code") ? query["code"] : "");
  if (!redeemed) {
    return respond->respond(message(http::status::internal_server_error, "Sign in", redeemed.error().message));
  }
  if (!redeemed.value()) {
    spdlog::warn("control API: refused a login link from {}: unknown, used or expired", request.peer);
    return respond->respond(message(http::status::forbidden, "This login link does not work",
                                    "It was used already, it expired (a link lasts " +
                                        format_duration(sessions_.code_lifetime()) +
                                        "), or it is not this supervisor's. Run `agentron-supervisor open` for a new "
                                        "one."));
  }
  spdlog::info("control API: a browser session opened ({} open)", sessions_.session_count());
  HttpResponse r = see_other("/");
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookie) + "=" + (*redeemed)->id + "; HttpOnly; SameSite=Strict; Path=/");
  respond->respond(std::move(r));
}

void WebUi::form(const HttpRequest& request, const BrowserSession& session,
                 const std::shared_ptr<HttpResponder>& respond) {
  // The guard let a foreign Origin through to no one; a page's form always sends ours.
  if (request.header(http::field::origin).empty()) {
    spdlog::warn("control API: refused a page form without Origin from {}", request.peer);
    return respond->respond(message(http::status::forbidden, "Refused",
                                    "A form must come from this supervisor's own page (no Origin was sent)."));
  }
  auto fields = parse_query(request.body);
  if (!constant_time_equal(session.csrf, fields.count("csrf") ? fields["csrf"] : "")) {
    spdlog::warn("control API: refused a page form with a missing or wrong CSRF token from {}", request.peer);
    return respond->respond(message(http::status::forbidden, "Refused",
                                    "This form is not from this session's page. Reload the page and try again."));
  }
  if (request.path == "/logout") {
    sessions_.end(session.id);
    HttpResponse r = message(http::status::ok, "Signed out", "Run `agentron-supervisor open` to sign in again.");
    r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
    return respond->respond(std::move(r));
  }
  if (!decision_path(request.path)) {
    return respond->respond(message(http::status::not_found, "Not found", "Nothing is here."));
  }
  auto parts = segments(request.path);
  std::string id(parts[1]);
  bool approve = parts[2] == "approve";
  std::string reason = fields.count("reason") ? fields["reason"] : "";
  if (!approve && reason.empty()) {
    return respond->respond(message(http::status::bad_request, "Say why", "Denying a restart needs a reason."));
  }
  ApiCall call = approve ? ApiCall{ApproveRequest{id}} : ApiCall{DenyRequest{id, reason}};
  std::weak_ptr<int> alive = alive_;
  api_.handle(call, ApiRole::operator_, [alive, respond, id, approve](ApiResponse answer) {
    if (!alive.lock()) return;
    if (answer.status >= 300) {
      return respond->respond(message(static_cast<http::status>(answer.status), approve ? "Not approved" : "Not denied",
                                      error_text(answer)));
    }
    // Approved: Now shows the handover's phases as they come.
    respond->respond(see_other(approve ? "/" : "/history#request-" + id));
  });
}

void WebUi::page(const HttpRequest& request, const BrowserSession& session, std::shared_ptr<HttpResponder> respond) {
  PageContext context{session.csrf, config_.fork.fork_url, config_.app.data_dir.string(), 0};
  std::weak_ptr<int> alive = alive_;
  auto failed = [respond](const ApiResponse& answer) {
    respond->respond(message(http::status::internal_server_error, "Cannot show this page", error_text(answer)));
  };
  std::string path = request.path;
  int offset = 0;
  if (path == "/history") {
    auto query = parse_query(request.query);
    const std::string& text = query["offset"];
    if (!text.empty() &&
        (std::from_chars(text.data(), text.data() + text.size(), offset).ec != std::errc() || offset < 0)) {
      offset = 0;
    }
  }
  // Every page shows how many requests wait for approval: the newest requests first.
  api_.handle(GetRequests{200, 0}, ApiRole::operator_, [=, this](ApiResponse recent) mutable {
    if (!alive.lock()) return;
    if (recent.status != 200) return failed(recent);
    const json& requests = recent.body["requests"];
    context.pending = pending_in(requests);
    if (path == "/approvals") return respond->respond(html(http::status::ok, render_approvals(requests, context)));
    if (path == "/") {
      return api_.handle(StatusRequest{}, ApiRole::operator_, [=](ApiResponse status) {
        if (!alive.lock()) return;
        if (status.status != 200) return failed(status);
        respond->respond(html(http::status::ok, render_now(status.body, context)));
      });
    }
    if (path == "/backups") {
      return api_.handle(StatusRequest{}, ApiRole::operator_, [=, this](ApiResponse status) {
        if (!alive.lock()) return;
        // Pinned: the backup an unfinished handover would restore from.
        std::string pinned;
        const json& h = status.body.is_object() ? status.body.value("handover", json()) : json();
        if (h.is_object() && h.value("state", "") != "done" && h.value("state", "") != "rolled_back" &&
            h.value("state", "") != "rejected") {
          std::string backup = h.value("backup", "");
          pinned = backup.substr(backup.find_last_of('/') == std::string::npos ? 0 : backup.find_last_of('/') + 1);
        }
        api_.handle(GetBackups{}, ApiRole::operator_, [=, this](ApiResponse backups) {
          if (!alive.lock()) return;
          if (backups.status != 200) return failed(backups);
          json list = backups.body["backups"];
          for (auto& b : list) b["pinned"] = !pinned.empty() && b.value("name", "") == pinned;
          respond->respond(html(http::status::ok, render_backups(list, config_path_.string(), context)));
        });
      });
    }
    // /history: one page of requests (and whether older ones follow), and the ledger's events.
    api_.handle(GetRequests{kHistoryPage + 1, offset}, ApiRole::operator_, [=, this](ApiResponse page) {
      if (!alive.lock()) return;
      if (page.status != 200) return failed(page);
      json shown = page.body["requests"];
      bool more = shown.size() > static_cast<size_t>(kHistoryPage);
      if (more) shown.erase(shown.size() - 1);
      api_.handle(GetHistory{300, ""}, ApiRole::operator_, [=](ApiResponse history) {
        if (!alive.lock()) return;
        if (history.status != 200) return failed(history);
        static const std::vector<std::string> kKinds = {"instance_exited",     "instance_failed",   "readiness_failed",
                                                        "verification_failed", "backup_restored",   "restore_failed",
                                                        "supervisor_started",  "supervisor_stopped"};
        json events = json::array();
        for (const auto& e : history.body["events"]) {
          if (std::find(kKinds.begin(), kKinds.end(), e.value("kind", "")) != kKinds.end()) events.push_back(e);
        }
        respond->respond(html(http::status::ok, render_history(shown, offset, kHistoryPage, more, events, context)));
      });
    });
  });
}

}  // namespace agentron
