// .supervisor/current-release.json: the release a (re)started supervisor runs — the
// one the last handover made current — and the one before it, which `rollback`
// returns to. Written atomically by make_current *before* any instance record moves,
// so after a SIGKILL it is the truth about whether a handover switched.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace agentron {

struct ReleaseInfo {
  std::string commit;  // full SHA; "" when the release is not a git checkout
  std::filesystem::path dir;
};

struct CurrentRelease {
  ReleaseInfo release;
  ReleaseInfo previous;    // dir empty: none (the first handover's previous is [app] release)
  std::string since;       // UTC ISO 8601
  std::string request_id;  // the request whose handover made it current; "" in a file from an older version
};

class ReleaseStore {
 public:
  explicit ReleaseStore(std::filesystem::path file) : file_(std::move(file)) {}

  // nullopt when there is no file, or it is not one this store wrote (then the
  // configured release is the truth): a field of the wrong type never throws.
  std::optional<CurrentRelease> read() const;
  Status write(const ReleaseInfo& release, const ReleaseInfo& previous, const std::string& request_id);
  void remove();
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace agentron
