// The pages (web/pages.h) from the /v1 JSON: what the agent wrote is text, never markup;
// commits link to the fork's web page only for an https GitHub-style URL.
#include "web/pages.h"

#include <catch2/catch.hpp>

using namespace agentron;
using nlohmann::json;

namespace {

const char* kHostile = "<img src=x onerror=alert(1)>\"'&";
const char* kEscaped = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;";

json hostile_request(const std::string& state) {
  return {
      {"id", "r-1"},
      {"state", state},
      {"branch", kHostile},
      {"commit", "abcdef0123456789"},
      {"summary", kHostile},
      {"requested_by", kHostile},
      {"run_id", kHostile},
      {"reason", kHostile},
      {"backup", "/b/pre-restart-1"},
      {"received_at", "2026-12-02T00:54:23.324Z"},
      {"counts_before", {{"agents", 3}}},
      {"counts_after", {{"agents", 3}}},
      {"phases", json::array({{{"phase", "requested"}, {"at", "2026-12-02T00:54:23.328Z"}, {"detail", kHostile}}})}};
}

void check_escaped(const std::string& page) {
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find(kEscaped) != std::string::npos);
}

}  // namespace

TEST_CASE("html_escape leaves no markup and no way out of an attribute", "[web][pages]") {
  CHECK(html_escape(kHostile) == kEscaped);
  CHECK(html_escape("plain text 123") == "plain text 123");
}

TEST_CASE("every field the agent wrote is escaped on every page", "[web][pages]") {
  PageContext page{"csrf-1", "https://github.com/me/agentron.git", "/var/lib/agentron/data", 1};
  json waiting = json::array({hostile_request("awaiting_approval")});
  check_escaped(render_approvals(waiting, page));
  check_escaped(render_history(json::array({hostile_request("rejected")}), 0, 25, false,
                               json::array({{{"kind", "instance_exited"}, {"detail", kHostile}}}), page));
  json status = {{"state", "ready"}, {"handover", hostile_request("building_release")}};
  check_escaped(render_now(status, page));
  check_escaped(render_message(kHostile, kHostile));
}

TEST_CASE("a request awaiting approval shows the seed's confirmation and forms with the CSRF token", "[web][pages]") {
  json r = {{"id", "r-7"},
            {"state", "awaiting_approval"},
            {"branch", "agent-improvement/faster"},
            {"requested_by", "agent"},
            {"summary", "faster"}};
  CHECK(confirmation_text(r, "/srv/data") ==
        "Agent wants to restart into the new build from branch agent-improvement/faster. Your data will stay in "
        "the same folder (/srv/data). Continue?");
  std::string html =
      render_approvals(json::array({r, {{"id", "r-8"}, {"state", "done"}}}), PageContext{"tok123", "", "/srv/data", 1});
  CHECK(html.find("action=\"/approvals/r-7/approve\"") != std::string::npos);
  CHECK(html.find("action=\"/approvals/r-7/deny\"") != std::string::npos);
  CHECK(html.find("r-8") == std::string::npos);  // not awaiting approval
  CHECK(html.find("name=\"csrf\" value=\"tok123\"") != std::string::npos);
  CHECK(html.find("<span class=\"count\">1</span>") != std::string::npos);
  CHECK(render_approvals(json::array(), PageContext{}).find("Nothing is waiting") != std::string::npos);
}

TEST_CASE("a commit links to the fork's page only for an https HOST/OWNER/REPO URL", "[web][pages]") {
  std::string sha = "342c8744ad35fc3b045c8195c12c95ac690ce4fe";
  CHECK(commit_web_url("https://github.com/me/agentron.git", sha) == "https://github.com/me/agentron/commit/" + sha);
  CHECK(commit_web_url("https://github.com/me/agentron/", sha) == "https://github.com/me/agentron/commit/" + sha);
  CHECK(commit_web_url("https://ghe.example/team/app", sha) == "https://ghe.example/team/app/commit/" + sha);
  for (const char* url : {"file:///srv/fork.git", "git@github.com:me/agentron.git", "http://github.com/me/agentron",
                          "https://github.com/me", "https://github.com/me/a/b", "https://user@github.com/me/a",
                          "https://github.com/me/a\"onclick=x"}) {
    INFO(url);
    CHECK(commit_web_url(url, sha) == "");
  }
  CHECK(commit_web_url("https://github.com/me/agentron", "not-a-sha\"") == "");
}

TEST_CASE("history pages link to newer and older pages", "[web][pages]") {
  PageContext page;
  std::string first = render_history(json::array({hostile_request("done")}), 0, 25, true, json::array(), page);
  CHECK(first.find("href=\"/history?offset=25\">Older") != std::string::npos);
  CHECK(first.find("Newer") == std::string::npos);
  std::string second = render_history(json::array(), 25, 25, false, json::array(), page);
  CHECK(second.find("href=\"/history?offset=0\">Newer") != std::string::npos);
  CHECK(second.find("Older") == std::string::npos);
}
