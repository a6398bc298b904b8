// Git remote URLs reduced to what identifies a repository, so that two spellings of
// one repository compare equal: https/ssh/git/scp-form/file, any case of host and
// owner, with or without user:token@, port, trailing ".git" or "/".
#pragma once

#include <string>

namespace agentron {

// "https://User:tok@GitHub.com:443/Cap-JMK-Real/Agentron.git/" → "github.com/cap-jmk-real/agentron"
// "git@github.com:cap-jmk-real/agentron"                      → "github.com/cap-jmk-real/agentron"
// "/srv/git/upstream.git", "file:///srv/git/upstream"         → "/srv/git/upstream" (symlinks resolved)
// Lower-cases the whole path: for the guard, treating two case variants as the same
// repository is the safe direction.
std::string normalize_git_url(const std::string& url);

// The URL with any user:password@ removed, for messages and logs.
std::string redact_git_url(const std::string& url);

}  // namespace agentron
