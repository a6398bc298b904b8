// What a manifest entry must be before anything is verified or restored from it: a
// manifest the supervisor did not write (planted, edited, or from an older version)
// must not be able to make a restore write outside the data dir, through a symlink,
// or set a setuid bit (docs/security.md, "Backups").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/manifest.h"

namespace agentron {

// Why `path` cannot name an entry, or nullopt if it can: it must be relative,
// '/'-separated and normalised — no empty, "." or ".." part, no leading or trailing
// '/', no NUL — and not under .supervisor/ (never part of a snapshot).
std::optional<std::string> path_problem(std::string_view path);

// Every rule an entry breaks, each naming the entry ("x/y: ..."); empty if none:
// the path (path_problem); each path once; each entry's parent folder listed before
// it as a folder — never under a symlink or a file; the mode (permission bits only:
// no setuid, setgid or sticky); a symlink's target non-empty; a file's SHA-256. One
// problem per entry, the first in that order.
std::vector<std::string> manifest_problems(const Manifest& manifest);

}  // namespace agentron
