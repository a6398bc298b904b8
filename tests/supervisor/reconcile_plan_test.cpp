#include "supervisor/reconcile_plan.h"

#include <catch2/catch.hpp>

namespace agentron {
namespace {

// C: the recorded current instance, N: the candidate (a handover's new one),
// R: the retiring one, O: an instance running without a record.
const InstanceRecord kC{"c", 100, 1}, kN{"n", 200, 2}, kR{"r", 300, 3}, kO{"o", 400, 4};

LeftInstances left_of(const std::string& live) {
  LeftInstances left;
  if (live.find('C') != std::string::npos) left.current = kC;
  if (live.find('N') != std::string::npos) left.candidate = kN;
  if (live.find('R') != std::string::npos) left.retiring = kR;
  if (live.find('O') != std::string::npos) left.unrecorded.push_back(kO);
  return left;
}

std::string letter(const InstanceRecord& r) {
  return r.pid == kC.pid ? "C" : r.pid == kN.pid ? "N" : r.pid == kR.pid ? "R" : "O";
}

// "N:candidate:unverified new,R:retiring:old": the stops, in order.
std::string stops_of(const ReconcilePlan& plan) {
  std::string out;
  for (const auto& s : plan.stop)
    out += (out.empty() ? "" : ",") + letter(s.record) + ":" + to_string(s.role) + ":" + s.what;
  return out;
}

enum class Req { none, not_switched, switched };

const UnfinishedRequest kRequest{"r-2", "2222222222222222222222222222222222222222", "verifying"};
// The release file a switch of kRequest writes; and one from the handover before.
const CurrentRelease kSwitched{{kRequest.commit, "/rel/2222"}, {"1111", "/rel/1111"}, "t", kRequest.id};
const CurrentRelease kBefore{{"1111", "/rel/1111"}, {"0000", "/rel/0000"}, "t", "r-1"};

struct Row {
  const char* live;
  Req request;
  const char* serving;  // letter, or "" for none
  const char* stops;
  const char* state;
};

}  // namespace

TEST_CASE("reconcile keeps exactly the right instance serving, in every combination of what was left") {
  const Row rows[] = {
      // Nothing unfinished, or a handover that never switched: the current one serves.
      {"", Req::none, "", "", ""},
      {"C", Req::none, "C", "", ""},
      {"N", Req::none, "", "N:candidate:unverified new", ""},
      {"R", Req::none, "", "R:retiring:old", ""},
      {"CN", Req::none, "C", "N:candidate:unverified new", ""},
      {"CR", Req::none, "C", "R:retiring:old", ""},
      {"NR", Req::none, "", "N:candidate:unverified new,R:retiring:old", ""},
      {"CNR", Req::none, "C", "N:candidate:unverified new,R:retiring:old", ""},
      {"CO", Req::none, "C", "O:orphan:unrecorded", ""},
      {"", Req::not_switched, "", "", "rolled_back"},
      {"C", Req::not_switched, "C", "", "rolled_back"},
      {"N", Req::not_switched, "", "N:candidate:unverified new", "rolled_back"},
      {"R", Req::not_switched, "", "R:retiring:old", "rolled_back"},
      {"CN", Req::not_switched, "C", "N:candidate:unverified new", "rolled_back"},
      {"CR", Req::not_switched, "C", "R:retiring:old", "rolled_back"},
      {"NR", Req::not_switched, "", "N:candidate:unverified new,R:retiring:old", "rolled_back"},
      {"CNR", Req::not_switched, "C", "N:candidate:unverified new,R:retiring:old", "rolled_back"},
      {"CNO", Req::not_switched, "C", "N:candidate:unverified new,O:orphan:unrecorded", "rolled_back"},
      // The switch happened (the release file names the request): the new one serves,
      // whether its record was rewritten to current yet (C) or still says candidate (N).
      {"", Req::switched, "", "", "done"},
      {"C", Req::switched, "C", "", "done"},
      {"N", Req::switched, "N", "", "done"},
      {"R", Req::switched, "", "R:retiring:old", "done"},
      {"CN", Req::switched, "N", "C:retiring:old", "done"},
      {"CR", Req::switched, "C", "R:retiring:old", "done"},
      {"NR", Req::switched, "N", "R:retiring:old", "done"},
      {"CNR", Req::switched, "N", "R:retiring:old,C:retiring:old", "done"},
      {"NO", Req::switched, "N", "O:orphan:unrecorded", "done"},
  };
  for (const auto& row : rows) {
    INFO("left " << row.live << ", request " << static_cast<int>(row.request));
    std::optional<UnfinishedRequest> request;
    if (row.request != Req::none) request = kRequest;
    auto release = row.request == Req::switched ? kSwitched : kBefore;
    ReconcilePlan plan = plan_reconcile(left_of(row.live), request, release);
    CHECK((plan.serving ? letter(*plan.serving) : "") == row.serving);
    CHECK(stops_of(plan) == row.stops);
    CHECK((plan.request_state ? to_string(*plan.request_state) : "") == std::string(row.state));
    CHECK(plan.switched == (row.request == Req::switched));
  }
}

TEST_CASE("reconcile says what it did in the finished request's reason") {
  auto plan = plan_reconcile(left_of("CN"), kRequest, kBefore);
  CHECK(plan.request_reason ==
        "the supervisor was killed during verifying; at restart: stopping the unverified new instance n (pid "
        "200); kept instance c (pid 100) serving");
  CHECK(plan_reconcile(left_of(""), kRequest, kSwitched).request_reason ==
        "the supervisor was killed during verifying; at restart: no instance of it was running");
}

TEST_CASE("a request for the commit already current is not taken as switched") {
  // The release file is from the handover before, which made the same commit current.
  CurrentRelease same_commit = kBefore;
  same_commit.release.commit = kRequest.commit;
  auto plan = plan_reconcile(left_of("CN"), kRequest, same_commit);
  CHECK_FALSE(plan.switched);
  CHECK(letter(*plan.serving) == "C");
  CHECK(stops_of(plan) == "N:candidate:unverified new");
}

TEST_CASE("a release file from an older version, without a request id, is matched by commit") {
  CurrentRelease old_file = kSwitched;
  old_file.request_id.clear();
  CHECK(plan_reconcile(left_of("CN"), kRequest, old_file).switched);
  old_file.release.commit = "1111";
  CHECK_FALSE(plan_reconcile(left_of("CN"), kRequest, old_file).switched);
  UnfinishedRequest no_commit = kRequest;
  no_commit.commit.clear();
  old_file.release.commit.clear();
  CHECK_FALSE(plan_reconcile(left_of("CN"), no_commit, old_file).switched);
}

TEST_CASE("without a release file nothing has switched") {
  auto plan = plan_reconcile(left_of("CN"), kRequest, std::nullopt);
  CHECK_FALSE(plan.switched);
  CHECK(plan.request_state == HandoverPhase::rolled_back);
}

}  // namespace agentron
