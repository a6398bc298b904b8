#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentron {

// Edit (Levenshtein) distance between a and b.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `typo`, if it is close enough to be a likely misspelling;
// otherwise empty.
std::string nearest_key(std::string_view typo, const std::vector<std::string>& candidates);

}  // namespace agentron
