#include "fork/git_url.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace agentron {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Strips trailing "/" and ".git" (repeatedly: "x.git/" and "x/.git" alike) and
// collapses repeated slashes.
std::string clean_path(std::string path) {
  std::string collapsed;
  for (char c : path) {
    if (c == '/' && !collapsed.empty() && collapsed.back() == '/') continue;
    collapsed += c;
  }
  for (bool changed = true; changed;) {
    changed = false;
    while (collapsed.size() > 1 && collapsed.back() == '/') collapsed.pop_back(), changed = true;
    if (collapsed.size() > 4 && lower(collapsed.substr(collapsed.size() - 4)) == ".git") {
      collapsed.resize(collapsed.size() - 4);
      changed = true;
    }
  }
  return collapsed;
}

std::string local_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  // Resolve what exists: a symlink to the upstream is the upstream.
  std::filesystem::path resolved = std::filesystem::weakly_canonical(p, ec);
  return clean_path(lower((ec ? p.lexically_normal() : resolved).string()));
}

}  // namespace

std::string normalize_git_url(const std::string& raw) {
  std::string url = raw;
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.pop_back();
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.erase(0, 1);
  auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = lower(url.substr(0, scheme_end));
    std::string rest = url.substr(scheme_end + 3);
    if (scheme == "file") return local_path(percent_decode(rest));
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    std::string path = slash == std::string::npos ? "" : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
    if (!authority.empty() && authority.front() == '[') {  // [ipv6]:port
      authority = authority.substr(0, authority.find(']') + 1);
    } else if (auto colon = authority.find(':'); colon != std::string::npos) {
      authority = authority.substr(0, colon);
    }
    // ssh://host/~user/repo and host/repo are kept apart; only the spelling varies.
    return lower(authority) + clean_path(lower(percent_decode(path)));
  }
  // scp form: [user@]host:path — a ':' before any '/', and not a Windows drive.
  auto colon = url.find(':');
  auto slash = url.find('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon < slash) && colon > 1) {
    std::string host = url.substr(0, colon);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    std::string path = url.substr(colon + 1);
    if (path.empty() || path.front() != '/') path = "/" + path;
    return lower(host) + clean_path(lower(percent_decode(path)));
  }
  return local_path(url);
}

std::string redact_git_url(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto authority_start = scheme_end + 3;
  auto slash = url.find('/', authority_start);
  auto at = url.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at == std::string::npos || at < authority_start) return url;
  return url.substr(0, authority_start) + "***@" + url.substr(at + 1);
}

}  // namespace agentron
