#include "launcher/instance_spec.h"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace agentron;

namespace {

std::string env_value(const SpawnSpec& spec, const std::string& name) {
  for (const auto& e : spec.env) {
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  }
  return "<unset>";
}

Config config_for_test() {
  auto r = parse_config(R"([app]
data_dir = "/srv/agentron/data"
release = "/opt/agentron"
command = ["node", "{release}/server.js", "--port={port}"]
working_dir = "ui"
env = { HOSTNAME = "127.0.0.1", ID = "{instance_id}" }
port = 3101
)",
                        "t.toml", "/etc/agentron");
  REQUIRE(r.errors.empty());
  return *r.config;
}

}  // namespace

TEST_CASE("the spawn spec expands placeholders and resolves the working dir", "[instance_spec]") {
  SpawnSpec spec = make_spawn_spec(config_for_test(), "/opt/agentron", "i-7", {});
  CHECK(spec.argv == std::vector<std::string>{"node", "/opt/agentron/server.js", "--port=3101"});
  CHECK(spec.working_dir == "/etc/agentron/ui");
  CHECK(spec.stdout_log == "/srv/agentron/data/.supervisor/instances/i-7/stdout.log");
  CHECK(spec.stderr_log == "/srv/agentron/data/.supervisor/instances/i-7/stderr.log");
}

TEST_CASE("the pinned data dir overrides an inherited AGENTRON_DATA_DIR", "[instance_spec]") {
  SpawnSpec spec = make_spawn_spec(config_for_test(), "/opt/agentron", "i-7",
                                   {"AGENTRON_DATA_DIR=/tmp/wrong", "PORT=1", "PATH=/usr/bin", "HOSTNAME=0.0.0.0"});
  CHECK(env_value(spec, "AGENTRON_DATA_DIR") == "/srv/agentron/data");
  CHECK(env_value(spec, "PORT") == "3101");
  CHECK(env_value(spec, "AGENTRON_INSTANCE_ID") == "i-7");
  CHECK(env_value(spec, "AGENTRON_VERIFICATION_FILE") ==
        "/srv/agentron/data/.supervisor/instances/i-7/verification.json");
  CHECK(env_value(spec, "AGENTRON_RELEASE_COMMIT") == "");
  CHECK(env_value(spec, "PATH") == "/usr/bin");
  CHECK(env_value(spec, "HOSTNAME") == "127.0.0.1");  // [app] env wins over inherited
  CHECK(env_value(spec, "ID") == "i-7");
  CHECK(std::count_if(spec.env.begin(), spec.env.end(),
                      [](const std::string& e) { return e.rfind("AGENTRON_DATA_DIR=", 0) == 0; }) == 1);
}

TEST_CASE("the app does not inherit the fork's token from the supervisor", "[instance_spec]") {
  SpawnSpec spec =
      make_spawn_spec(config_for_test(), "/opt/agentron", "i-7", {"AGENTRON_FORK_TOKEN=ghp_secret", "PATH=/usr/bin"});
  CHECK(env_value(spec, "AGENTRON_FORK_TOKEN") == "<unset>");
  CHECK(env_value(spec, "PATH") == "/usr/bin");
}
