#include "supervisor/release_store.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/utc_time.h"

namespace agentron {
namespace {

using json = nlohmann::json;

std::string text_of(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

ReleaseInfo release_of(const json& object) { return {text_of(object, "commit"), text_of(object, "dir")}; }

json to_json(const ReleaseInfo& r) { return {{"dir", r.dir.string()}, {"commit", r.commit}}; }

}  // namespace

std::optional<CurrentRelease> ReleaseStore::read() const {
  std::ifstream in(file_);
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || text_of(j, "dir").empty()) return std::nullopt;
  CurrentRelease current{release_of(j), {}, text_of(j, "since"), text_of(j, "request_id")};
  if (auto previous = j.find("previous"); previous != j.end() && previous->is_object()) {
    current.previous = release_of(*previous);
  }
  return current;
}

Status ReleaseStore::write(const ReleaseInfo& release, const ReleaseInfo& previous, const std::string& request_id) {
  json j = to_json(release);
  j["previous"] = to_json(previous);
  j["request_id"] = request_id;
  j["since"] = utc_now_iso8601();
  return write_file_atomically(file_, j.dump(2) + "\n", 0600);
}

void ReleaseStore::remove() {
  std::error_code ec;
  std::filesystem::remove(file_, ec);
}

}  // namespace agentron
