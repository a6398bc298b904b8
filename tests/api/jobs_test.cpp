#include "api/jobs.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/fake_clock.h"
#include "tests/temp_dir.h"

using namespace agentron;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Starts nothing: records what would run and lets the test end it.
struct FakeStarter {
  pid_t pid = 424242;  // 0: stop_running() signals nothing
  std::vector<std::string> argv;
  fs::path out, err;
  std::function<void(ExitStatus)> on_exit;
  JobStarter starter() {
    return [this](const std::vector<std::string>& a, const fs::path& o, const fs::path& e,
                  std::function<void(ExitStatus)> done) -> Result<pid_t> {
      argv = a, out = o, err = e, on_exit = std::move(done);
      return pid;
    };
  }
  void end(const std::string& answer, ExitStatus status) {
    std::ofstream(out) << answer;
    on_exit(status);
  }
};

}  // namespace

TEST_CASE("a job answers with its result when it ends within the wait", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  auto id = jobs.start("run_build_agentron", {"agentron-fork", "--json", "build"});
  REQUIRE(id);
  std::optional<JobRecord> got;
  jobs.await(*id, std::chrono::seconds(25), [&](Result<JobRecord> r) { got = *r; });
  clock.advance(std::chrono::seconds(3));
  CHECK_FALSE(got);
  std::ofstream(fork.err) << "line 1\nline 2\n";
  fork.end(R"({"ok":true,"data":{"ok":true,"exit_code":0}})", ExitStatus::exited(0));
  REQUIRE(got);
  CHECK(got->state == JobState::succeeded);
  CHECK(got->result["exit_code"] == 0);
  CHECK(got->log_tail == "line 1\nline 2\n");
  CHECK(got->exit == "exit code 0");
  // The record outlives the run, on disk.
  auto again = jobs.find(*id);
  REQUIRE(again);
  CHECK(again->state == JobState::succeeded);
  CHECK_FALSE(jobs.running());
}

TEST_CASE("agentron-fork's warnings reach the caller and the record", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  auto id = *jobs.start("commit_changes", {"x"});
  std::optional<JobRecord> got;
  jobs.await(id, std::chrono::seconds(25), [&](Result<JobRecord> r) { got = *r; });
  fork.end(R"({"ok":true,"data":{"commit":"abc"},"warnings":["code changed but no documentation did"]})",
           ExitStatus::exited(0));
  REQUIRE(got);
  CHECK(got->warnings == std::vector<std::string>{"code changed but no documentation did"});
  CHECK(got->to_json()["warnings"] == json::array({"code changed but no documentation did"}));
  CHECK(jobs.find(id)->warnings == got->warnings);
  CHECK_FALSE(JobRecord{}.to_json().contains("warnings"));
}

TEST_CASE("a job still running after the wait is answered as running, and finishes later", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  auto id = jobs.start("run_tests_agentron", {"x"});
  REQUIRE(id);
  std::optional<JobRecord> got;
  jobs.await(*id, std::chrono::seconds(5), [&](Result<JobRecord> r) { got = *r; });
  clock.advance(std::chrono::seconds(5));
  REQUIRE(got);
  CHECK(got->state == JobState::running);
  CHECK(got->to_json()["job_id"] == *id);
  fork.end(R"({"ok":false,"error":{"code":"test_failed","message":"2 failed"}})", ExitStatus::exited(1));
  auto done = jobs.find(*id);
  REQUIRE(done);
  CHECK(done->state == JobState::failed);
  CHECK(done->result["code"] == "test_failed");
}

TEST_CASE("one job at a time: a second is refused naming the first", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  auto first = jobs.start("run_build_agentron", {"x"});
  REQUIRE(first);
  auto second = jobs.start("run_build_agentron", {"x"});
  REQUIRE_FALSE(second);
  CHECK(second.error().code == job_error::busy);
  CHECK_THAT(second.error().message, Catch::Contains(*first) && Catch::Contains("run_build_agentron"));
  fork.end("not json", ExitStatus::killed(9));
  auto done = jobs.find(*first);
  CHECK(done->state == JobState::failed);
  CHECK(done->result["code"] == "no_answer");
  CHECK(jobs.start("run_build_agentron", {"x"}));
}

TEST_CASE("a job left running by an earlier supervisor is interrupted, never running forever", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  std::string id;
  {
    JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
    id = *jobs.start("sync_fork_from_upstream", {"x"});
  }  // the supervisor dies with it running
  JobRunner after(clock, tmp.path / "jobs", fork.starter());
  after.recover();
  auto record = after.find(id);
  REQUIRE(record);
  CHECK(record->state == JobState::interrupted);
  CHECK_FALSE(record->ended_at.empty());
  CHECK(record->result["code"] == "interrupted");
}

TEST_CASE("a job the supervisor stops is interrupted, not failed", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  fork.pid = 0;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  auto id = *jobs.start("run_tests_agentron", {"x"});
  std::optional<JobRecord> got;
  jobs.await(id, std::chrono::seconds(25), [&](Result<JobRecord> r) { got = *r; });
  jobs.stop_running();
  fork.end("", ExitStatus::killed(SIGTERM));
  REQUIRE(got);
  CHECK(got->state == JobState::interrupted);
  CHECK(got->result["code"] == "interrupted");
  CHECK(got->result["message"] ==
        "the supervisor stopped while it ran (agentron-fork killed by SIGTERM); run it again");
  CHECK(jobs.find(id)->state == JobState::interrupted);
}

TEST_CASE("a job id that is not ours is never looked up on disk", "[jobs]") {
  testing::TempDir tmp;
  FakeClock clock;
  FakeStarter fork;
  JobRunner jobs(clock, tmp.path / "jobs", fork.starter());
  for (const char* id : {"../../etc/passwd", "job-../x", "", "job-1/../../y"}) {
    auto r = jobs.find(id);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == job_error::no_such_job);
  }
}
