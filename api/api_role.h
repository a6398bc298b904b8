// Who a control API request speaks for, by the bearer token it carries (docs/security.md,
// "Control API"). The agent's token ([control] token_file) is the one Agentron's tool
// rows hold: it may read everything, run the tools and ask for a restart. The operator's
// token ([control] operator_token_file) may do that and also what only the user decides:
// approve or deny a restart, roll back. An agent holding its own token therefore cannot
// approve the restart it asked for.
#pragma once

namespace agentron {

enum class ApiRole {
  none,       // a request exempt from the token (a page the browser loads)
  agent,      // the agent's token
  operator_,  // the operator's token
};

inline const char* to_string(ApiRole role) {
  switch (role) {
    case ApiRole::agent: return "agent";
    case ApiRole::operator_: return "operator";
    case ApiRole::none: break;
  }
  return "none";
}

}  // namespace agentron
