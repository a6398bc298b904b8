#include "fork/push_guard.h"

#include <catch2/catch.hpp>

#include "fork/git_url.h"

using namespace agentron;

namespace {

const std::string kUpstream = "https://github.com/cap-jmk-real/agentron.git";
const std::string kFork = "https://github.com/agentron-bot/agentron.git";

RemoteConfig origin(std::vector<std::string> urls, std::vector<std::string> pushurls = {},
                    std::vector<UrlRewrite> instead_of = {}, std::vector<UrlRewrite> push_instead_of = {}) {
  return RemoteConfig{"origin", std::move(urls), std::move(pushurls), std::move(instead_of),
                      std::move(push_instead_of)};
}

GuardVerdict judge(const RemoteConfig& remote, const std::string& fork = kFork) {
  return judge_push(remote, GuardTargets::identify(fork, kUpstream, "/"));
}

}  // namespace

TEST_CASE("spellings of one repository normalise alike", "[git_url]") {
  std::string canonical = "github.com/cap-jmk-real/agentron";
  for (const char* url :
       {"https://github.com/cap-jmk-real/agentron.git", "https://github.com/cap-jmk-real/agentron",
        "https://github.com/cap-jmk-real/agentron/", "https://github.com/cap-jmk-real/agentron.git/",
        "HTTPS://GitHub.COM/Cap-JMK-Real/Agentron.GIT", "http://github.com/cap-jmk-real/agentron",
        "https://user:secret-token@github.com/cap-jmk-real/agentron.git",
        "https://github.com:443/cap-jmk-real/agentron", "ssh://git@github.com/cap-jmk-real/agentron.git",
        "ssh://git@github.com:22/cap-jmk-real/agentron", "git@github.com:cap-jmk-real/agentron.git",
        "git@GITHUB.com:Cap-Jmk-Real/agentron", "github.com:cap-jmk-real/agentron",
        "git://github.com/cap-jmk-real/agentron.git", "https://github.com//cap-jmk-real//agentron.git",
        "https://github.com/cap%2Djmk%2Dreal/agentron", "  https://github.com/cap-jmk-real/agentron.git  "}) {
    INFO(url);
    CHECK(normalize_git_url(url) == canonical);
  }
  CHECK(normalize_git_url(kFork) != canonical);
  CHECK(normalize_git_url("https://github.com/cap-jmk-real/agentron-docs") != canonical);
  CHECK(normalize_git_url("file:///srv/git/up.git") == normalize_git_url("/srv/git/up"));
}

TEST_CASE("credentials are redacted from URLs", "[git_url]") {
  CHECK(redact_git_url("https://bot:ghp_secret@github.com/a/b.git") == "https://***@github.com/a/b.git");
  CHECK(redact_git_url("https://github.com/a/b.git") == "https://github.com/a/b.git");
  CHECK(redact_git_url("git@github.com:a/b.git") == "git@github.com:a/b.git");
}

TEST_CASE("the guard refuses every way of aiming at the upstream", "[push_guard]") {
  struct Case {
    const char* what;
    RemoteConfig remote;
  };
  std::vector<Case> cases = {
      {"origin is the upstream", origin({kUpstream})},
      {"origin is the upstream without .git", origin({"https://github.com/cap-jmk-real/agentron"})},
      {"origin is the upstream with a trailing slash", origin({"https://github.com/cap-jmk-real/agentron/"})},
      {"origin is the upstream in other case", origin({"https://GITHUB.com/CAP-JMK-REAL/Agentron"})},
      {"origin is the upstream over ssh", origin({"ssh://git@github.com/cap-jmk-real/agentron.git"})},
      {"origin is the upstream in scp form", origin({"git@github.com:cap-jmk-real/agentron.git"})},
      {"origin is the upstream with a token", origin({"https://x:tok@github.com/cap-jmk-real/agentron.git"})},
      {"origin is the upstream on an explicit port", origin({"https://github.com:443/cap-jmk-real/agentron.git"})},
      {"pushurl is the upstream", origin({kFork}, {kUpstream})},
      {"pushurl is the upstream in scp form", origin({kFork}, {"git@github.com:cap-jmk-real/agentron"})},
      {"a second pushurl is the upstream", origin({kFork}, {kFork, kUpstream})},
      {"a second url is the upstream (git pushes to all)", origin({kFork, kUpstream})},
      {"insteadOf rewrites the fork to the upstream",
       origin({kFork}, {}, {{"https://github.com/agentron-bot/", "https://github.com/cap-jmk-real/"}})},
      {"pushInsteadOf rewrites the fork to the upstream",
       origin({kFork}, {}, {}, {{"https://github.com/agentron-bot/", "git@github.com:cap-jmk-real/"}})},
      {"insteadOf rewrites the pushurl to the upstream",
       origin({kFork}, {"fork:agentron.git"}, {{"fork:", "https://github.com/cap-jmk-real/"}})},
      {"a short alias expands to the upstream",
       origin({"gh:cap-jmk-real/agentron"}, {}, {{"gh:", "https://github.com/"}})},
      {"the longest insteadOf wins, and it is the upstream",
       origin({kFork}, {},
              {{"https://github.com/", "https://gitlab.com/"},
               {"https://github.com/agentron-bot/", "https://github.com/cap-jmk-real/"}})},
      {"the upstream with a percent-encoded owner", origin({"https://github.com/cap%2djmk%2dreal/agentron.git"})},
      {"the upstream with doubled slashes", origin({"https://github.com//cap-jmk-real/agentron.git"})},
      {"the upstream over the git protocol", origin({"git://github.com/cap-jmk-real/agentron"})},
      {"the upstream over ssh on port 22", origin({"ssh://git@github.com:22/cap-jmk-real/agentron"})},
  };
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    INFO(c.what);
    GuardVerdict v = judge(c.remote);
    CHECK_FALSE(v.allowed);
    CHECK_THAT(v.reason,
               Catch::Contains("refusing to push to the upstream https://github.com/cap-jmk-real/agentron.git"));
  }
}

TEST_CASE("the guard allows the fork however it is spelled", "[push_guard]") {
  for (const auto& remote : {origin({kFork}), origin({"https://github.com:443/agentron-bot/agentron"}),
                             origin({kUpstream}, {kFork}),  // fetch from upstream, push to the fork
                             origin({"https://github.com/Agentron-Bot/agentron/"}),
                             origin({"fork:agentron"}, {}, {{"fork:", "https://github.com/agentron-bot/"}})}) {
    GuardVerdict v = judge(remote);
    INFO(v.reason);
    CHECK(v.allowed);
  }
}

TEST_CASE("the fork is its exact origin: another scheme, port or host is not the fork", "[push_guard]") {
  for (const char* url :
       {"git@github.com:agentron-bot/agentron", "http://github.com/agentron-bot/agentron",
        "https://github.com:8443/agentron-bot/agentron", "https://github.com.evil/agentron-bot/agentron",
        "ssh://git@github.com/agentron-bot/agentron", "https://github.com/agentron-bot/agentron-x"}) {
    INFO(url);
    GuardVerdict v = judge(origin({url}));
    CHECK_FALSE(v.allowed);
    CHECK_THAT(v.reason, Catch::Contains("which is not the configured fork"));
  }
}

TEST_CASE("a push anywhere else is refused too, and a fork that is the upstream is", "[push_guard]") {
  GuardVerdict elsewhere = judge(origin({"https://github.com/someone/else.git"}));
  CHECK_FALSE(elsewhere.allowed);
  CHECK_THAT(elsewhere.reason, Catch::Contains("which is not the configured fork"));
  GuardVerdict misconfigured = judge(origin({kUpstream}), "git@github.com:cap-jmk-real/agentron");
  CHECK_FALSE(misconfigured.allowed);
  CHECK_THAT(misconfigured.reason, Catch::Contains("is the upstream"));
  CHECK_FALSE(judge(origin({})).allowed);
}

TEST_CASE("effective push URLs follow git's rules", "[push_guard]") {
  // pushInsteadOf applies to url, not to an explicit pushurl; insteadOf applies to both.
  std::vector<UrlRewrite> instead = {{"a:", "https://a/"}};
  std::vector<UrlRewrite> push_instead = {{"a:", "ssh://a/"}};
  CHECK(effective_push_urls(origin({"a:x"}, {}, instead, push_instead)) == std::vector<std::string>{"ssh://a/x"});
  CHECK(effective_push_urls(origin({"a:x"}, {"a:y"}, instead, push_instead)) ==
        std::vector<std::string>{"https://a/y"});
  CHECK(effective_push_urls(origin({"a:x"}, {}, instead, {})) == std::vector<std::string>{"https://a/x"});
  CHECK(effective_fetch_url(origin({"a:x"}, {}, instead, push_instead)) == "https://a/x");
}
