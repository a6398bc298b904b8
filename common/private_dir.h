// Folders only the supervisor may change (docs/security.md, "Privilege separation"):
// created when missing, then checked — the folder and every folder above it — so no
// other user can replace what is in them: a folder's owner, or anyone who may write
// it, can rename and replace its entries whatever their own permissions say.
#pragma once

#include <sys/types.h>

#include <filesystem>

#include "common/result.h"

namespace agentron {

// Creates `dir` (and its parents) if missing and sets `mode` on it.
Status make_dir(const std::filesystem::path& dir, mode_t mode);

// `dir` is a folder (not a symlink) owned by this process's user and writable by no
// one else; every folder above it is owned by root or this user and writable by no
// one else unless sticky (/tmp). The error names the folder and says what to do.
Status check_private_dir(const std::filesystem::path& dir);

// make_dir, then check_private_dir.
Status make_private_dir(const std::filesystem::path& dir, mode_t mode);

}  // namespace agentron
