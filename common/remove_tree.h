// Removing a folder another user can write, as root, without being steered: every
// step goes through a descriptor opened with O_NOFOLLOW, so a folder swapped for a
// symlink mid-way is unlinked as a link, never entered (std::filesystem::remove_all
// checks and then opens by path: a swap in between deletes where the link points).
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace agentron {

// Removes `name` in the folder open as `parent_dir` — a file, a symlink, or a folder
// with everything below it — following no symlink. A process still adding entries
// meanwhile is outlasted for a few passes, then the error says so. Absent is success.
Status remove_tree_at(int parent_dir, const std::string& name);

// The same for a path: only its parent is resolved by name.
Status remove_tree(const std::filesystem::path& path);

}  // namespace agentron
