#include "fork/secret_scrub.h"

#include <catch2/catch.hpp>

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
