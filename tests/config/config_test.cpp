#include "config/config.h"

#include <catch2/catch.hpp>

#include "tests/config/parse_for_test.h"

using namespace agentron;
using agentron::testing::all_errors;
using agentron::testing::parse;
using namespace std::chrono_literals;

namespace {

const char* kMinimal = R"([app]
data_dir = "/var/lib/agentron/data"
command  = ["node", "{release}/server.js"]
)";

}  // namespace

TEST_CASE("a minimal config gets every default", "[config]") {
  auto r = parse(kMinimal);
  REQUIRE(r.errors.empty());
  const Config& c = *r.config;
  CHECK(c.app.data_dir == "/var/lib/agentron/data");
  CHECK(c.app.release == "/etc/agentron");  // the config's folder
  CHECK(c.app.working_dir == "{release}");
  CHECK(c.app.port == 3000);
  CHECK(c.app.stop_signal == SIGTERM);
  CHECK(c.app.stop_timeout == 10s);
  CHECK(c.restart.policy == RestartPolicyKind::on_failure);
  CHECK(c.restart.backoff_initial == 100ms);
  CHECK(c.restart.backoff_factor == 2.0);
  CHECK(c.restart.backoff_max == 30s);
  CHECK(c.restart.max_restarts == 5);
  CHECK(c.restart.restart_window == 60s);
  CHECK(c.restart.stable_after == 30s);
}

TEST_CASE("every [app] and [restart] key is read", "[config]") {
  auto r = parse(R"([app]
data_dir     = "data"
release      = "/opt/agentron"
command      = ["node", "server.js"]
working_dir  = "{release}/ui"
env          = { HOSTNAME = "127.0.0.1", NODE_ENV = "production" }
port         = 3101
stop_signal  = "SIGINT"
stop_timeout = "3s"
log_max_size = "1MiB"
log_keep     = 2
keep_instances = 7

[restart]
policy          = "always"
backoff_initial = "250ms"
backoff_factor  = 1.5
backoff_max     = "1m"
max_restarts    = 9
restart_window  = "2m"
stable_after    = "10s"
)");
  REQUIRE(all_errors(r) == "");
  const Config& c = *r.config;
  CHECK(c.app.data_dir == "/etc/agentron/data");  // relative → against the config's folder
  CHECK(c.app.release == "/opt/agentron");
  CHECK(c.app.command == std::vector<std::string>{"node", "server.js"});
  CHECK(c.app.env.at("NODE_ENV") == "production");
  CHECK(c.app.port == 3101);
  CHECK(c.app.stop_signal == SIGINT);
  CHECK(c.app.stop_timeout == 3s);
  CHECK(c.app.log_max_size == 1024 * 1024);
  CHECK(c.app.log_keep == 2);
  CHECK(c.app.keep_instances == 7);
  CHECK(c.restart.policy == RestartPolicyKind::always);
  CHECK(c.restart.backoff_initial == 250ms);
  CHECK(c.restart.backoff_factor == 1.5);
  CHECK(c.restart.backoff_max == 1min);
  CHECK(c.restart.max_restarts == 9);
  CHECK(c.restart.restart_window == 2min);
  CHECK(c.restart.stable_after == 10s);
}

TEST_CASE("an unknown key names its line, column and the nearest valid key", "[config]") {
  auto r = parse(R"([app]
data_dir = "/d"
command = ["x"]
  stop_timout = "5s"
)");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "test.toml:4:3: unknown key 'stop_timout' in [app]; did you mean 'stop_timeout'?");
}

TEST_CASE("an unknown section suggests the nearest one", "[config]") {
  auto r = parse(std::string(kMinimal) + "[restrat]\npolicy = \"always\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "test.toml:4:2: unknown section [restrat]; did you mean [restart]?");
}

TEST_CASE("a wrong type is an error at the value", "[config]") {
  auto r = parse(std::string(kMinimal) + "port = \"3000\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 4);
  CHECK(r.errors[0].column == 8);
  CHECK(r.errors[0].message == "[app] port must be an integer");
}

TEST_CASE("a missing data_dir is an error", "[config]") {
  auto r = parse("[app]\ncommand = [\"x\"]\n");
  REQUIRE_FALSE(r.config.has_value());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[0].message.find("data_dir is required") != std::string::npos);
}

TEST_CASE("a TOML syntax error carries its position", "[config]") {
  auto r = parse("[app]\ndata_dir = \"/d\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].file == "test.toml");
}

TEST_CASE("bad values are each reported, all at once", "[config]") {
  auto r = parse(R"([app]
data_dir = "/d"
command = []
port = 70000
stop_signal = "SIGFOO"
stop_timeout = "10"
env = { AGENTRON_DATA_DIR = "/elsewhere", X = "{nope}" }

[restart]
policy = "sometimes"
backoff_factor = 0.5
backoff_initial = "1m"
backoff_max = "1s"
)");
  std::string errors = all_errors(r);
  CHECK_FALSE(r.config.has_value());
  CHECK_THAT(errors, Catch::Contains("test.toml:3:11: [app] command must name a program"));
  CHECK_THAT(errors, Catch::Contains("test.toml:4:8: [app] port = 70000 is out of range 1..65535"));
  CHECK_THAT(errors, Catch::Contains("test.toml:5:15: [app] stop_signal = \"SIGFOO\" is not a signal"));
  CHECK_THAT(errors, Catch::Contains("test.toml:6:16: [app] stop_timeout = \"10\" is not a duration"));
  CHECK_THAT(errors, Catch::Contains("env.AGENTRON_DATA_DIR cannot be set here"));
  CHECK_THAT(errors, Catch::Contains("unknown placeholder {nope}"));
  CHECK_THAT(errors, Catch::Contains("test.toml:10:10: [restart] policy = \"sometimes\" is not one of"));
  CHECK_THAT(errors, Catch::Contains("[restart] backoff_factor is out of range"));
  CHECK_THAT(errors, Catch::Contains("backoff_max (1s) must not be less than backoff_initial (1m)"));
}

TEST_CASE("without [control] there is no control API; with it, its defaults", "[config][control]") {
  auto none = parse(kMinimal);
  REQUIRE(none.errors.empty());
  CHECK_FALSE(none.config->control.configured);

  auto r = parse(std::string(kMinimal) + "[control]\n");
  REQUIRE(all_errors(r) == "");
  const ControlConfig& c = r.config->control;
  CHECK(c.configured);
  CHECK(c.listen_host == "127.0.0.1");
  CHECK(c.listen_port == 7310);
  CHECK(control_listen_address(c) == "127.0.0.1:7310");
  CHECK(c.token_file == "/var/lib/agentron/data/.supervisor/api.token");
  CHECK(c.operator_token_file == "/var/lib/agentron/data/.supervisor/operator.token");
  CHECK_FALSE(c.tools.has_value());  // all
  CHECK(c.max_body == 256 * 1024);
  CHECK(c.header_timeout == 10s);
  CHECK(c.max_connections == 256);
}

TEST_CASE("[control] token_file follows [app] state_dir; a relative one is the config folder's", "[config][control]") {
  auto r = parse(std::string(kMinimal) + "state_dir = \"/var/lib/agentron-supervisor\"\n[control]\n");
  REQUIRE(all_errors(r) == "");
  CHECK(r.config->control.token_file == "/var/lib/agentron-supervisor/api.token");
  CHECK(r.config->control.operator_token_file == "/var/lib/agentron-supervisor/operator.token");
  r = parse(std::string(kMinimal) + "[control]\ntoken_file = \"secrets/api.token\"\n");
  REQUIRE(all_errors(r) == "");
  CHECK(r.config->control.token_file == "/etc/agentron/secrets/api.token");
}

TEST_CASE("[control] operator_token_file is not token_file, nor in a data dir the app's user owns",
          "[config][control]") {
  auto r = parse(std::string(kMinimal) + "[control]\noperator_token_file = \".supervisor/x\"\n" +
                 "token_file = \".supervisor/x\"\n");
  CHECK(all_errors(r).find("operator_token_file must differ from token_file") != std::string::npos);
  CHECK(all_errors(r).find("test.toml:5:") != std::string::npos);  // at its line
  std::string with_user = std::string(kMinimal) + "user = \"nobody\"\nstate_dir = \"/var/lib/sup\"\n[control]\n";
  r = parse(with_user);
  REQUIRE(all_errors(r) == "");
  CHECK(r.config->control.operator_token_file == "/var/lib/sup/operator.token");
  r = parse(with_user + "operator_token_file = \"/var/lib/agentron/data/op.token\"\n");
  CHECK(all_errors(r).find("lies inside data_dir, which [app] user 'nobody' owns") != std::string::npos);
}

TEST_CASE("[control] listen takes loopback addresses: 127.0.0.0/8, [::1], localhost; port 0 is any",
          "[config][control]") {
  struct Case {
    const char* listen;
    const char* host;
    int port;
  };
  for (Case c : {Case{"127.0.0.1:7310", "127.0.0.1", 7310}, Case{"127.3.2.1:80", "127.3.2.1", 80},
                 Case{"[::1]:7310", "::1", 7310}, Case{"LocalHost:0", "localhost", 0}}) {
    INFO(c.listen);
    auto r = parse(std::string(kMinimal) + "[control]\nlisten = \"" + c.listen + "\"\n");
    REQUIRE(all_errors(r) == "");
    CHECK(r.config->control.listen_host == c.host);
    CHECK(r.config->control.listen_port == c.port);
  }
  auto v6 = parse(std::string(kMinimal) + "[control]\nlisten = \"[::1]:7310\"\n");
  CHECK(control_listen_address(v6.config->control) == "[::1]:7310");
}

TEST_CASE("[control] listen on anything but loopback is an error at its file:line:column", "[config][control]") {
  for (const char* listen :
       {"0.0.0.0:7310", "10.0.0.1:7310", "[::]:7310", "example.com:7310", "[::ffff:127.0.0.1]:1"}) {
    INFO(listen);
    auto r = parse(std::string(kMinimal) + "[control]\nlisten = \"" + listen + "\"\n");
    CHECK_FALSE(r.config.has_value());
    CHECK_THAT(all_errors(r), Catch::StartsWith("test.toml:5:10: [control] listen = \"" + std::string(listen) +
                                                "\" is not a loopback address: this version serves the control "
                                                "API on this machine only"));
  }
  for (const char* listen : {"::1:7310", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:x", ":7310"}) {
    INFO(listen);
    auto r = parse(std::string(kMinimal) + "[control]\nlisten = \"" + listen + "\"\n");
    CHECK_THAT(all_errors(r), Catch::StartsWith("test.toml:5:10: [control] listen = \"" + std::string(listen) +
                                                "\" is not host:port"));
  }
}

TEST_CASE("[control] tools is \"all\" or a list of names", "[config][control]") {
  auto tools = [](const std::string& value) {
    return parse(std::string(kMinimal) + "[control]\ntools = " + value + "\n");
  };
  auto all = tools("\"all\"");
  REQUIRE(all_errors(all) == "");
  CHECK_FALSE(all.config->control.tools.has_value());
  auto some = tools("[\"supervisor_status\", \"job_status\"]");
  REQUIRE(all_errors(some) == "");
  CHECK(some.config->control.tools == std::vector<std::string>{"supervisor_status", "job_status"});
  auto none = tools("[]");
  REQUIRE(all_errors(none) == "");
  CHECK(none.config->control.tools == std::vector<std::string>{});
  CHECK_THAT(all_errors(tools("\"some\"")),
             Catch::Contains("test.toml:5:9: [control] tools = \"some\": write \"all\""));
  CHECK_THAT(all_errors(tools("3")), Catch::Contains("test.toml:5:9: [control] tools must be an array of strings"));
}

TEST_CASE("[control] limits are checked", "[config][control]") {
  auto r = parse(std::string(kMinimal) + "[control]\nmax_body = 512\nheader_timeout = \"0s\"\nmax_connections = 0\n");
  std::string errors = all_errors(r);
  CHECK_THAT(errors, Catch::Contains("test.toml:5:12: [control] max_body must be between 1KiB and 64MiB"));
  CHECK_THAT(errors, Catch::Contains("test.toml:6:18: [control] header_timeout must be more than 0"));
  CHECK_THAT(errors, Catch::Contains("test.toml:7:19: [control] max_connections = 0 is out of range 1..100000"));
}

TEST_CASE("without [health] an instance is ready once started and nothing is verified", "[config]") {
  auto r = parse(kMinimal);
  REQUIRE(r.errors.empty());
  CHECK_FALSE(r.config->health.configured);
  CHECK(r.config->health.readiness == ReadinessKind::none);
  CHECK(r.config->health.verification == VerificationKind::none);
}

TEST_CASE("[health] defaults are docs/design.md's: http readiness, probe verification of agents and runs", "[config]") {
  auto r = parse(std::string(kMinimal) + "[health]\n");
  REQUIRE(r.errors.empty());
  const HealthConfig& h = r.config->health;
  CHECK(h.readiness == ReadinessKind::http);
  CHECK(h.verification == VerificationKind::probe);
  CHECK(h.url == "http://127.0.0.1:{port}/api/setup/status");
  CHECK(h.counts.at("agents") == "SELECT count(*) FROM agents");
  CHECK(h.counts.at("runs") == "SELECT count(*) FROM executions");
}

TEST_CASE("bad [health] values name file:line:column", "[config]") {
  auto r = parse(std::string(kMinimal) +
                 "[health]\n"
                 "readiness = \"ping\"\n"
                 "counts = { agents = \"SELEC count(*) FROM agents\", gone = \"DELETE FROM agents\", "
                 "two = \"SELECT 1, 2\", fine = \"SELECT count(*) FROM no_table_yet\" }\n"
                 "url = \"https://x/\"\n");
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  CHECK_THAT(errors,
             Catch::Contains("test.toml:5:13: [health] readiness = \"ping\" is not one of http, tcp, record, none"));
  CHECK_THAT(errors, Catch::Contains("[health] counts.agents: near \"SELEC\": syntax error"));
  CHECK_THAT(errors, Catch::Contains("[health] counts.gone: the query must only read"));
  CHECK_THAT(errors, Catch::Contains("[health] counts.two: the query must return one column"));
  CHECK_THAT(errors, !Catch::Contains("counts.fine"));
  CHECK_THAT(errors, Catch::Contains("test.toml:7:7: [health] url must start with http://"));
}

TEST_CASE("the effective config round-trips through to_toml", "[config]") {
  auto first = parse(R"([app]
data_dir = "/d"
command = ["a \"quoted\" arg", "{release}/x"]
env = { K = "v" }
stop_signal = "INT"
)");
  REQUIRE(first.errors.empty());
  auto second = parse(to_toml(*first.config));
  REQUIRE(all_errors(second) == "");
  CHECK(second.config->app.command == first.config->app.command);
  CHECK(second.config->app.env == first.config->app.env);
  CHECK(second.config->app.stop_signal == SIGINT);
  CHECK(to_toml(*second.config) == to_toml(*first.config));
}

TEST_CASE("[proxy] parses listen and the instance port range, and says what is wrong", "[config]") {
  auto ok = parse(std::string(kMinimal) + "[proxy]\nlisten = \"127.0.0.1:3000\"\ninstance_ports = \"3101-3199\"\n");
  REQUIRE(ok.errors.empty());
  CHECK(ok.config->proxy.configured);
  CHECK(ok.config->proxy.listen_port == 3000);
  CHECK(ok.config->proxy.first_port == 3101);
  CHECK(ok.config->proxy.last_port == 3199);
  auto bad = parse(std::string(kMinimal) + "[proxy]\nlisten = \"3000\"\ninstance_ports = \"3101\"\n");
  std::string errors;
  for (const auto& e : bad.errors) errors += e.to_string() + "\n";
  CHECK_THAT(errors, Catch::Contains("test.toml:5:10: [proxy] listen = \"3000\" is not host:port"));
  CHECK_THAT(errors, Catch::Contains("[proxy] instance_ports = \"3101\" is not a range of at least two ports"));
}

TEST_CASE("[proxy] busy_poll defaults to 50us, can be turned off, and is bounded", "[config]") {
  std::string proxy = std::string(kMinimal) + "[proxy]\nlisten = \"127.0.0.1:3000\"\ninstance_ports = \"3101-3199\"\n";
  auto by_default = parse(proxy);
  REQUIRE(by_default.config);
  CHECK(by_default.config->proxy.busy_poll == std::chrono::microseconds(50));
  auto off = parse(proxy + "busy_poll = \"0s\"\n");
  REQUIRE(off.config);
  CHECK(off.config->proxy.busy_poll == Duration::zero());
  auto burning = parse(proxy + "busy_poll = \"5ms\"\n");
  REQUIRE_FALSE(burning.config);
  CHECK_THAT(burning.errors.front().to_string(),
             Catch::Contains("test.toml:7:13: [proxy] busy_poll = \"5ms\" is too long"));
}

TEST_CASE("[proxy] nice defaults to -5 and is a nice value", "[config]") {
  std::string proxy = std::string(kMinimal) + "[proxy]\nlisten = \"127.0.0.1:3000\"\ninstance_ports = \"3101-3199\"\n";
  auto by_default = parse(proxy);
  REQUIRE(by_default.config);
  CHECK(by_default.config->proxy.nice == -5);
  auto asked = parse(proxy + "nice = -10\n");
  REQUIRE(asked.config);
  CHECK(asked.config->proxy.nice == -10);
  auto bad = parse(proxy + "nice = -30\n");
  REQUIRE_FALSE(bad.config);
  CHECK_THAT(bad.errors.front().to_string(), Catch::Contains("test.toml:7:8"));
}
