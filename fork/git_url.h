// Git remote URLs reduced to what identifies a repository. Network URLs are parsed
// into scheme, host, port and path: the guard and the token compare the origin
// (scheme, host, port) exactly. Local paths are not judged by their text at all: see
// fork/local_repo.h.
#pragma once

#include <optional>
#include <string>

namespace agentron {

// A network remote: https, http, ssh (also the scp form user@host:path), git.
struct NetworkUrl {
  std::string scheme;  // lower-cased; the scp form is "ssh"
  std::string host;    // lower-cased, without user:password@; "[::1]" keeps its brackets
  int port = 0;        // explicit, else the scheme's default (443, 80, 22, 9418); 0 if unknown
  std::string path;    // percent-decoded, '/' collapsed, trailing '/' and ".git" stripped, lower-cased

  // Same scheme, host and port: where a credential may go.
  bool same_origin(const NetworkUrl& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
  // The same repository on the same server, whichever scheme or port reaches it.
  bool same_repository(const NetworkUrl& other) const { return host == other.host && path == other.path; }
};

// nullopt for a local path or file:// URL (fork/local_repo.h resolves those).
std::optional<NetworkUrl> parse_network_url(const std::string& url);

// "https://User:tok@GitHub.com:443/Cap-JMK-Real/Agentron.git/" → "github.com/cap-jmk-real/agentron"
// "git@github.com:cap-jmk-real/agentron"                      → "github.com/cap-jmk-real/agentron"
// "/srv/git/upstream.git", "file:///srv/git/upstream"         → "/srv/git/upstream" (symlinks resolved)
// For reading owner/repo out of a URL and for messages — never to decide whether a
// target is the fork or the upstream.
std::string normalize_git_url(const std::string& url);

// Every %XX decoded (git's url_decode()).
std::string percent_decode(const std::string& s);

// The URL with any user:password@ removed, for messages and logs.
std::string redact_git_url(const std::string& url);

}  // namespace agentron
