// Touching a file the app's user controls, as that user: for the lifetime of an
// ActingAs, the calling thread's file-system identity (fsuid, fsgid and supplementary
// groups — per thread on Linux, set here by raw syscalls, never broadcast to the
// process) is the app's user's, and root's DAC overrides are gone with it. A symlink
// the app planted then leads only where the app itself may go (red team, findings 2
// and 3: the supervisor's ledger, root-only databases). Other threads — the event
// loop, the front — are unaffected; a thread started inside the scope would inherit
// it (the kernel copies the creator's credentials), so none is.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

#include "common/result.h"

namespace agentron {

struct FsIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

class ActingAs {
 public:
  // `who` null or nullopt: nothing changes. Check ok(): a switch that failed leaves the
  // thread as it was, and the caller must not go on as if it had worked.
  explicit ActingAs(const FsIdentity* who);
  explicit ActingAs(const std::optional<FsIdentity>& who) : ActingAs(who ? &*who : nullptr) {}
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

 private:
  void restore();
  bool switched_ = false;
  uid_t old_uid_ = 0;
  gid_t old_gid_ = 0;
  std::vector<gid_t> old_groups_;
  Status status_ = ok_status();
};

}  // namespace agentron
