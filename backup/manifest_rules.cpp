#include "backup/manifest_rules.h"

#include <cstdio>
#include <map>

namespace agentron {
namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxName = 255;

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool is_sha256(const std::string& hex) {
  return hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<std::string> mode_problem(std::uint32_t mode) {
  if ((mode & ~std::uint32_t{0777}) == 0) return std::nullopt;
  char buf[96];
  std::snprintf(buf, sizeof buf, "mode %04o: setuid, setgid and sticky bits are never restored", mode);
  return buf;
}

// Why `e` cannot sit where it says, given the entries before it.
std::optional<std::string> place_problem(const ManifestEntry& e, const std::map<std::string, EntryType>& earlier) {
  if (earlier.count(e.path)) return "listed twice";
  std::string parent = parent_of(e.path);
  if (parent.empty()) return std::nullopt;
  auto it = earlier.find(parent);
  if (it == earlier.end()) return "its folder " + parent + " is not listed before it";
  if (it->second != EntryType::dir) return "under " + parent + ", which is a " + to_string(it->second);
  return std::nullopt;
}

std::optional<std::string> content_problem(const ManifestEntry& e) {
  if (e.type == EntryType::symlink && (e.target.empty() || e.target.find('\0') != std::string::npos)) {
    return "a symlink without a usable target";
  }
  if ((e.type == EntryType::file || e.type == EntryType::sqlite) && !is_sha256(e.sha256)) {
    return "no SHA-256 (64 lowercase hex digits)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> path_problem(std::string_view path) {
  if (path.empty()) return "an empty path";
  if (path.size() > kMaxPath) return "a path longer than " + std::to_string(kMaxPath) + " bytes";
  if (path.find('\0') != std::string_view::npos) return "a path with a NUL byte";
  if (path.front() == '/') return "an absolute path";
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string_view part = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty()) return "an empty path component (a '//' or a trailing '/')";
    if (part == "." || part == "..") return "a '" + std::string(part) + "' path component";
    if (part.size() > kMaxName) return "a name longer than " + std::to_string(kMaxName) + " bytes";
    if (start == 0 && part == ".supervisor") return "under .supervisor/, the supervisor's own state";
    if (end == std::string_view::npos) return std::nullopt;
    start = end + 1;
  }
}

std::vector<std::string> manifest_problems(const Manifest& manifest) {
  std::vector<std::string> problems;
  std::map<std::string, EntryType> earlier;
  for (const auto& e : manifest.entries) {
    // The path first: the other rules read it.
    auto problem = path_problem(e.path);
    if (!problem) problem = place_problem(e, earlier);
    if (!problem) problem = mode_problem(e.mode);
    if (!problem) problem = content_problem(e);
    if (problem) problems.push_back(e.path + ": " + *problem);
    earlier.emplace(e.path, e.type);
  }
  return problems;
}

}  // namespace agentron
