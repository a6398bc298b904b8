#include "fork/secret_scrub.h"

#include <catch2/catch.hpp>
#include <random>
#include <regex>

#include "fork/run_command.h"

using namespace agentron;

namespace {
const std::string kToken = "ghp_secret-TOKEN-1234";
}  // namespace

TEST_CASE("the token is scrubbed from text and from URLs' credentials", "[secret_scrub]") {
  CHECK(scrub("token=" + kToken + " and again " + kToken, kToken) == "token=*** and again ***");
  CHECK(scrub("https://bot:pw@host/x", "") == "https://***@host/x");
}

TEST_CASE("a token split across reads of a stream is still scrubbed", "[secret_scrub]") {
  for (size_t cut = 0; cut <= kToken.size(); ++cut) {
    StreamScrubber s(kToken);
    std::string out = s.feed("AGENTRON_FORK_TOKEN=" + kToken.substr(0, cut));
    out += s.feed(kToken.substr(cut) + "\nnext line\n");
    out += s.finish();
    INFO(cut);
    CHECK(out == "AGENTRON_FORK_TOKEN=***\nnext line\n");
  }
}

TEST_CASE("a long line without a newline goes out in pieces, scrubbed", "[secret_scrub]") {
  StreamScrubber s(kToken);
  std::string line(100 * 1024, 'x');
  std::string out;
  // The token straddles every possible piece boundary over many feeds.
  for (int i = 0; i < 40; ++i)
    out += s.feed(line.substr(0, 3000 + i) + kToken.substr(0, 7)), out += s.feed(kToken.substr(7));
  out += s.finish();
  CHECK(out.find(kToken) == std::string::npos);
  CHECK(out.find("***") != std::string::npos);
}

TEST_CASE("URL credentials are found as the regex the scrubber once used found them", "[secret_scrub]") {
  // The old rule, kept here only as the specification: fine on short text, a stack
  // overflow on a long line.
  const std::regex userinfo(R"(([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@)");
  const std::string alphabet = "ab1+.-:/@ \th";
  std::mt19937 random(20);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (size_t n = random() % 24; n > 0; --n) text += alphabet[random() % alphabet.size()];
    INFO(text);
    REQUIRE(scrub(text, "") == std::regex_replace(text, userinfo, "$1***@"));
  }
  CHECK(scrub("git clone https://x-access-token:abc@github.com/a/b and ssh://git@host/x", "") ==
        "git clone https://***@github.com/a/b and ssh://***@host/x");
}

TEST_CASE("a megabyte-long line is scrubbed in bounded stack and memory", "[secret_scrub]") {
  // A 60 KB line overflowed the stack of a recursive regex (the red team's attack_coredump.sh).
  std::string line = std::string(1 << 20, 'A') + kToken + std::string(70000, 'B') + "https://u:p@h/" +
                     std::string(1 << 20, ':') + "\n";
  std::string whole =
      std::string(1 << 20, 'A') + "***" + std::string(70000, 'B') + "https://***@h/" + std::string(1 << 20, ':') + "\n";
  CHECK(scrub(line, kToken) == whole);
  StreamScrubber s(kToken);
  std::string out;
  size_t most_held = 0;
  for (size_t at = 0; at < line.size(); at += 16384) {
    std::string piece = line.substr(at, 16384);
    out += s.feed(piece);
    most_held = std::max(most_held, at + piece.size() - out.size());
  }
  out += s.finish();
  CHECK(out == whole);
  CHECK(most_held <= StreamScrubber::kUrlCredentialMax + kToken.size());
}

TEST_CASE("children get no token in their environment", "[secret_scrub]") {
  std::vector<std::string> env = {"PATH=/bin",
                                  "AGENTRON_FORK_TOKEN=" + kToken,
                                  "GH_TOKEN=" + kToken,
                                  "OTHER=prefix-" + kToken + "-suffix",
                                  "AGENTRON_FORK_TOKEN=",
                                  "HOME=/home/a"};
  CHECK(environment_without(env, kToken) == std::vector<std::string>{"PATH=/bin", "HOME=/home/a"});
  CHECK(environment_without({"AGENTRON_FORK_TOKEN=x"}, "").empty());
}
