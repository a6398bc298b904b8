#include "fork/git_url.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "fork/local_repo.h"

namespace agentron {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Strips trailing "/" and ".git" (repeatedly: "x.git/" and "x/.git" alike) and
// collapses repeated slashes.
std::string clean_path(const std::string& path) {
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

int default_port(const std::string& scheme) {
  if (scheme == "https") return 443;
  if (scheme == "http") return 80;
  if (scheme == "ssh") return 22;
  if (scheme == "git") return 9418;
  return 0;
}

std::string trimmed(std::string url) {
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.pop_back();
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.erase(0, 1);
  return url;
}

}  // namespace

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

std::optional<NetworkUrl> parse_network_url(const std::string& raw) {
  std::string url = trimmed(raw);
  if (local_path_of_url(url)) return std::nullopt;
  NetworkUrl parsed;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {  // scp form: [user@]host:path
    auto colon = url.find(':');
    std::string host = url.substr(0, colon);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    std::string path = url.substr(colon + 1);
    if (path.empty() || path.front() != '/') path = "/" + path;
    return NetworkUrl{"ssh", lower(host), 22, clean_path(lower(percent_decode(path)))};
  }
  parsed.scheme = lower(url.substr(0, scheme_end));
  if (parsed.scheme == "git+ssh" || parsed.scheme == "ssh+git") parsed.scheme = "ssh";
  std::string rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  std::string port;
  if (!authority.empty() && authority.front() == '[') {  // [ipv6]:port
    auto close = authority.find(']');
    if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
    authority = authority.substr(0, close == std::string::npos ? std::string::npos : close + 1);
  } else if (auto colon = authority.find(':'); colon != std::string::npos) {
    port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  }
  parsed.host = lower(authority);
  bool numeric = !port.empty() && port.size() < 6 &&
                 std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
  parsed.port = numeric ? std::stoi(port) : port.empty() ? default_port(parsed.scheme) : -1;
  parsed.path = clean_path(lower(percent_decode(path)));
  return parsed;
}

std::string normalize_git_url(const std::string& raw) {
  if (auto network = parse_network_url(raw)) return network->host + network->path;
  std::string path = local_path_of_url(trimmed(raw)).value_or("");
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  std::filesystem::path resolved = std::filesystem::weakly_canonical(p, ec);
  return clean_path(lower((ec ? p.lexically_normal() : resolved).string()));
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
