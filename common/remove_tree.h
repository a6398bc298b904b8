// Removing a folder another user can write, as root, without being steered: every
// step goes through a descriptor opened with O_NOFOLLOW, so a folder swapped for a
// symlink mid-way is unlinked as a link, never entered (std::filesystem::remove_all
// checks and then opens by path: a swap in between deletes where the link points).
#pragma once

#include <filesystem>

#include "common/result.h"

namespace agentron {

// Removes `path` — a file, a symlink or a folder and everything below it. Only
// `path`'s parent is resolved by name; nothing below it follows a symlink. A path
// that does not exist is not an error.
Status remove_tree(const std::filesystem::path& path);

}  // namespace agentron
