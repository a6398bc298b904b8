#include "web/pages.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

namespace agentron {
namespace {

using nlohmann::json;

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string esc(const json& j, const char* key) { return html_escape(text_of(j, key)); }

// "—" for a value that is not there, so an empty cell still reads as one.
std::string or_dash(std::string html) { return html.empty() ? "<span class=\"none\">—</span>" : html; }

std::string short_sha(std::string_view sha) { return std::string(sha.substr(0, 12)); }

std::string commit_cell(const std::string& commit, const PageContext& page) {
  if (commit.empty()) return or_dash("");
  std::string code = "<code title=\"" + html_escape(commit) + "\">" + html_escape(short_sha(commit)) + "</code>";
  std::string url = commit_web_url(page.fork_url, commit);
  return url.empty() ? code : "<a href=\"" + html_escape(url) + "\" rel=\"noreferrer\">" + code + "</a>";
}

std::string duration_text(double seconds) {
  long s = std::lround(seconds);
  char out[64];
  if (s < 60) {
    std::snprintf(out, sizeof out, "%ld s", s);
  } else if (s < 3600) {
    std::snprintf(out, sizeof out, "%ld min %ld s", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(out, sizeof out, "%ld h %ld min", s / 3600, s / 60 % 60);
  } else {
    std::snprintf(out, sizeof out, "%ld d %ld h", s / 86400, s / 3600 % 24);
  }
  return out;
}

// "2026-12-02T00:54:23.324Z" shown as "2026-12-02 00:54:23 UTC", inside <time>.
std::string time_cell(const std::string& at) {
  if (at.empty()) return or_dash("");
  std::string shown = at.substr(0, 19);
  if (shown.size() == 19) shown[10] = ' ';
  return "<time datetime=\"" + html_escape(at) + "\">" + html_escape(shown) + " UTC</time>";
}

std::string counts_text(const json& counts) {
  if (!counts.is_object() || counts.empty()) return "";
  std::string out;
  for (const auto& [name, value] : counts.items()) {
    out += (out.empty() ? "" : ", ") + html_escape(name) + " " + html_escape(value.dump());
  }
  return out;
}

// Per count: "agents 3 → 3".
std::string counts_before_after(const json& before, const json& after) {
  std::vector<std::string> names;
  for (const json* side : {&before, &after}) {
    if (!side->is_object()) continue;
    for (const auto& [name, _] : side->items()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  std::string out;
  for (const auto& name : names) {
    auto value = [&](const json& side) {
      return side.is_object() && side.contains(name) ? html_escape(side[name].dump()) : std::string("?");
    };
    out += "<li>" + html_escape(name) + " " + value(before) + " → " + value(after) + "</li>";
  }
  return out.empty() ? or_dash("") : "<ul class=\"counts\">" + out + "</ul>";
}

std::string state_badge(const std::string& state) {
  std::string kind = "neutral";
  if (state == "ready" || state == "done" || state == "ok") kind = "good";
  if (state == "rolled_back" || state == "rejected" || state == "failed" || state == "backoff") kind = "bad";
  if (state == "awaiting_approval" || state == "waiting_for_idle") kind = "wait";
  return "<span class=\"badge badge-" + kind + "\">" + html_escape(state.empty() ? "unknown" : state) + "</span>";
}

// An outcome: done, rolled back + reason, denied, rejected + reason, or the phase it is in.
std::string outcome_cell(const json& r) {
  std::string state = text_of(r, "state");
  std::string reason = text_of(r, "reason");
  bool denied = state == "rejected" && reason.rfind("denied", 0) == 0;
  std::string out = state_badge(state);
  if (denied) out = "<span class=\"badge badge-bad\">denied</span>";
  if (!reason.empty()) out += "<p class=\"reason\">" + html_escape(reason) + "</p>";
  return out;
}

std::string timeline(const json& phases) {
  if (!phases.is_array() || phases.empty()) return "";
  std::string out = "<ol class=\"timeline\">";
  for (const auto& p : phases) {
    out += "<li><span class=\"phase\">" + esc(p, "phase") + "</span> " + time_cell(text_of(p, "at"));
    if (!text_of(p, "detail").empty()) out += "<div class=\"detail\">" + esc(p, "detail") + "</div>";
    out += "</li>";
  }
  return out + "</ol>";
}

std::string csrf_field(const PageContext& page) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(page.csrf) + "\">";
}

struct NavItem {
  const char* href;
  const char* label;
};
constexpr NavItem kNav[] = {
    {"/", "Now"}, {"/approvals", "Pending approvals"}, {"/history", "Platform history"}, {"/backups", "Backups"}};

std::string layout(std::string_view title, std::string_view active, const PageContext* page, const std::string& main) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      html_escape(title) +
      " · agentron-supervisor</title>"
      "<link rel=\"stylesheet\" href=\"/assets/page.css\"><script src=\"/assets/page.js\" defer></script>"
      "</head><body><header class=\"top\"><p class=\"brand\">agentron-supervisor</p>";
  if (page) {
    out += "<nav aria-label=\"Pages\"><ul>";
    for (const auto& item : kNav) {
      bool current = active == item.href;
      out += std::string("<li><a href=\"") + item.href + "\"" + (current ? " aria-current=\"page\"" : "") + ">" +
             item.label;
      if (std::string_view(item.href) == "/approvals" && page->pending > 0)
        out += " <span class=\"count\">" + std::to_string(page->pending) + "</span>";
      out += "</a></li>";
    }
    out += "</ul></nav><form class=\"signout\" method=\"post\" action=\"/logout\">" + csrf_field(*page) +
           "<button type=\"submit\">Sign out</button></form>";
  }
  return out + "</header><main id=\"live\" data-refresh-ms=\"1000\">" + main + "</main></body></html>\n";
}

// A cell with its column's name, which narrow screens show beside it (page.css).
std::string td(std::string_view label, const std::string& html) {
  return "<td data-label=\"" + std::string(label) + "\">" + html + "</td>";
}

std::string fact(std::string_view term, const std::string& html) {
  return "<div><dt>" + std::string(term) + "</dt><dd>" + or_dash(html) + "</dd></div>";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string commit_web_url(std::string_view fork_url, std::string_view commit) {
  constexpr std::string_view kHttps = "https://";
  if (fork_url.substr(0, kHttps.size()) != kHttps || commit.empty()) return "";
  std::string_view rest = fork_url.substr(kHttps.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.size() > 4 && rest.substr(rest.size() - 4) == ".git") rest.remove_suffix(4);
  // HOST/OWNER/REPO: exactly three parts, none empty, nothing a URL would read otherwise.
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == rest.npos ? rest.npos : slash - start));
    if (slash == rest.npos) break;
    start = slash + 1;
  }
  if (parts.size() != 3) return "";
  for (auto part : parts) {
    if (part.empty() || part.find_first_of("?#@:\\ \"<>") != part.npos) return "";
  }
  for (char c : commit) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return "https://" + std::string(rest) + "/commit/" + std::string(commit);
}

std::string confirmation_text(const json& request, std::string_view data_dir) {
  std::string who = text_of(request, "requested_by");
  if (who.empty() || who == "agent") who = "Agent";
  return who + " wants to restart into the new build from branch " + text_of(request, "branch") +
         ". Your data will stay in the same folder" + (data_dir.empty() ? "" : " (" + std::string(data_dir) + ")") +
         ". Continue?";
}

std::string render_now(const json& status, const PageContext& page) {
  std::string facts;
  facts += fact("State", state_badge(text_of(status, "state")) +
                             (text_of(status, "reason").empty() ? "" : " " + esc(status, "reason")));
  facts +=
      fact("Serving release", status.value("release", "").empty() ? "" : "<code>" + esc(status, "release") + "</code>");
  facts += fact("Commit", commit_cell(text_of(status, "commit"), page));
  std::string instance = esc(status, "instance_id");
  if (!instance.empty()) instance += " · pid " + esc(status, "pid") + " · port " + esc(status, "port");
  facts += fact("Instance", instance);
  std::string uptime;
  if (status.contains("uptime_seconds") && status["uptime_seconds"].is_number()) {
    uptime = duration_text(status["uptime_seconds"].get<double>()) + " (since " +
             time_cell(text_of(status, "started_at")) + ")";
  }
  facts += fact("Up for", uptime);
  facts += fact("Restarts", esc(status, "restart_count"));
  std::string verification;
  if (const json& v = status.value("last_verification", json()); v.is_object()) {
    verification = (v.value("ok", false) ? state_badge("ok") : state_badge("failed")) + " " +
                   counts_text(v.value("counts", json::object())) + " · integrity " + esc(v, "integrity") + " · " +
                   time_cell(text_of(v, "at"));
  }
  facts += fact("Last verification", verification);
  std::string front;
  if (const json& f = status.value("front", json()); f.is_object()) {
    long connections = 0;
    if (f.contains("connections") && f["connections"].is_object()) {
      for (const auto& [_, n] : f["connections"].items()) connections += n.is_number() ? n.get<long>() : 0;
    }
    front = std::to_string(connections) + " open · listening on <code>" + esc(f, "listen") + "</code>";
  } else {
    front = "no front (<code>[proxy]</code> not configured)";
  }
  facts += fact("Front connections", front);

  std::string handover = "<p>No handover yet.</p>";
  if (const json& h = status.value("handover", json()); h.is_object()) {
    std::string state = text_of(h, "state");
    bool finished = state == "done" || state == "rolled_back" || state == "rejected";
    handover = "<p>" + std::string(finished ? "The last handover: " : "In progress: ") + state_badge(state) +
               " <strong>" + esc(h, "branch") + "</strong> " + commit_cell(text_of(h, "commit"), page) + " — " +
               esc(h, "summary") + "</p>";
    if (!text_of(h, "reason").empty()) handover += "<p class=\"reason\">" + esc(h, "reason") + "</p>";
    handover += "<p>Counts before → after:</p>" +
                counts_before_after(h.value("counts_before", json::object()), h.value("counts_after", json::object()));
    handover += timeline(h.value("phases", json::array()));
  }
  std::string main = "<h1>Now</h1><dl class=\"facts\">" + facts +
                     "</dl><section aria-labelledby=\"handover-heading\"><h2 id=\"handover-heading\">Handover</h2>" +
                     handover + "</section>";
  return layout("Now", "/", &page, main);
}

std::string render_approvals(const json& requests, const PageContext& page) {
  std::string items;
  for (const auto& r : requests) {
    if (text_of(r, "state") != "awaiting_approval") continue;
    std::string id = text_of(r, "id");
    std::string action = "/approvals/" + html_escape(id);
    items += "<li class=\"approval\" id=\"request-" + html_escape(id) + "\"><h2>" + esc(r, "summary") +
             "</h2><p class=\"confirm\">" + html_escape(confirmation_text(r, page.data_dir)) +
             "</p><dl class=\"facts\">" + fact("Branch", esc(r, "branch")) +
             fact("Commit", commit_cell(text_of(r, "commit"), page)) + fact("Asked by", esc(r, "requested_by")) +
             fact("Run", esc(r, "run_id")) + fact("Asked at", time_cell(text_of(r, "received_at"))) +
             fact("Request", "<code>" + html_escape(id) + "</code>") +
             "</dl><div class=\"actions\"><form method=\"post\" action=\"" + action + "/approve\">" + csrf_field(page) +
             "<button type=\"submit\" class=\"approve\">Approve</button></form>"
             "<form method=\"post\" action=\"" +
             action + "/deny\" class=\"deny\">" + csrf_field(page) + "<label for=\"reason-" + html_escape(id) +
             "\">Reason for denying</label><input id=\"reason-" + html_escape(id) +
             "\" name=\"reason\" required maxlength=\"500\" autocomplete=\"off\">"
             "<button type=\"submit\">Deny</button></form></div></li>";
  }
  std::string main =
      "<h1>Pending approvals</h1><noscript><p>Approve and Deny need JavaScript in this page (the browser would send "
      "them without this page's origin); in a terminal: <code>agentron-supervisor approve ID</code> or <code>deny "
      "ID --reason R</code>.</p></noscript>";
  main += items.empty() ? "<p>Nothing is waiting for your approval.</p>" : "<ul class=\"approvals\">" + items + "</ul>";
  return layout("Pending approvals", "/approvals", &page, main);
}

std::string render_history(const json& requests, int offset, int page_size, bool more, const json& events,
                           const PageContext& page) {
  std::string rows;
  for (const auto& r : requests) {
    std::string backup = text_of(r, "backup");
    std::string backup_name =
        backup.substr(backup.find_last_of('/') == std::string::npos ? 0 : backup.find_last_of('/') + 1);
    json phases = r.value("phases", json::array());
    rows += "<tr id=\"request-" + esc(r, "id") + "\">" + td("Time", time_cell(text_of(r, "received_at"))) +
            td("Branch", or_dash(esc(r, "branch"))) + td("Commit", commit_cell(text_of(r, "commit"), page)) +
            td("Summary", or_dash(esc(r, "summary"))) + td("Asked by", or_dash(esc(r, "requested_by"))) +
            td("Run", or_dash(esc(r, "run_id"))) + td("Outcome", outcome_cell(r)) +
            td("Backup", or_dash(backup_name.empty() ? "" : "<code>" + html_escape(backup_name) + "</code>")) +
            td("Counts before → after",
               counts_before_after(r.value("counts_before", json::object()), r.value("counts_after", json::object()))) +
            td("Phases", "<details id=\"phases-" + esc(r, "id") + "\"><summary>" + std::to_string(phases.size()) +
                             " phases</summary>" + timeline(phases) + "</details>") +
            "</tr>";
  }
  std::string main =
      "<h1>Platform history</h1><section aria-labelledby=\"improvements\"><h2 id=\"improvements\">"
      "Improvements and restarts</h2>";
  if (rows.empty()) {
    main += offset == 0 ? "<p>No improvement has been asked for yet.</p>" : "<p>No older requests.</p>";
  } else {
    main +=
        "<div class=\"scroll\"><table class=\"history\"><caption>Every restart request, newest first</caption><thead>"
        "<tr><th scope=\"col\">Time</th><th scope=\"col\">Branch</th><th scope=\"col\">Commit</th>"
        "<th scope=\"col\">Summary</th><th scope=\"col\">Asked by</th><th scope=\"col\">Run</th>"
        "<th scope=\"col\">Outcome</th><th scope=\"col\">Backup</th><th scope=\"col\">Counts before → after</th>"
        "<th scope=\"col\">Phases</th></tr></thead><tbody>" +
        rows + "</tbody></table></div>";
  }
  std::string paging;
  if (offset > 0) {
    paging += "<a href=\"/history?offset=" + std::to_string(std::max(0, offset - page_size)) + "\">Newer</a>";
  }
  if (more) paging += "<a href=\"/history?offset=" + std::to_string(offset + page_size) + "\">Older</a>";
  if (!paging.empty()) main += "<nav class=\"paging\" aria-label=\"History pages\">" + paging + "</nav>";
  main += "</section>";

  std::string event_rows;
  for (const auto& e : events) {
    event_rows += "<tr>" + td("Time", time_cell(text_of(e, "at"))) + td("Event", esc(e, "kind")) +
                  td("Instance", or_dash(esc(e, "instance_id"))) + td("Detail", or_dash(esc(e, "detail"))) + "</tr>";
  }
  main += "<section aria-labelledby=\"events\"><h2 id=\"events\">Crashes, restarts and restores</h2>";
  main += event_rows.empty()
              ? "<p>None recorded.</p>"
              : "<div class=\"scroll\"><table class=\"events\"><thead><tr><th scope=\"col\">Time</th>"
                "<th scope=\"col\">Event</th><th scope=\"col\">Instance</th><th scope=\"col\">Detail</th>"
                "</tr></thead><tbody>" +
                    event_rows + "</tbody></table></div>";
  main += "</section>";
  return layout("Platform history", "/history", &page, main);
}

std::string render_backups(const json& backups, std::string_view config, const PageContext& page) {
  std::string rows;
  for (const auto& b : backups) {
    double mib = b.value("bytes", 0.0) / (1024.0 * 1024.0);
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MiB", mib);
    std::string verified = b.contains("verified") && b["verified"].is_boolean()
                               ? (b["verified"].get<bool>() ? "yes " + time_cell(text_of(b, "verified_at")) : "failed")
                               : "not yet";
    rows += "<tr>" + td("Name", "<code>" + esc(b, "name") + "</code>") +
            td("Taken", time_cell(text_of(b, "created_at"))) + td("Kind", esc(b, "kind")) + td("Size", size) +
            td("Verified", verified) + td("Pinned", b.value("pinned", false) ? "yes" : "no") + "</tr>";
  }
  std::string config_flag = config.empty() ? "" : " --config " + html_escape(config);
  std::string main = "<h1>Backups</h1>";
  main += rows.empty() ? "<p>No snapshot yet.</p>"
                       : "<div class=\"scroll\"><table class=\"backups\"><thead><tr><th scope=\"col\">Name</th>"
                         "<th scope=\"col\">Taken</th><th scope=\"col\">Kind</th><th scope=\"col\">Size</th>"
                         "<th scope=\"col\">Verified</th><th scope=\"col\">Pinned</th></tr></thead><tbody>" +
                             rows + "</tbody></table></div>";
  main +=
      "<p>Restoring stays a terminal action: the supervisor stops the app, restores, and starts it again.</p>"
      "<pre><code>agentron-supervisor backups restore NAME" +
      config_flag + "</code></pre>";
  return layout("Backups", "/backups", &page, main);
}

std::string render_message(std::string_view title, std::string_view message) {
  std::string main = "<h1>" + html_escape(title) + "</h1><p>" + html_escape(message) + "</p>";
  return layout(title, "", nullptr, main);
}

}  // namespace agentron
