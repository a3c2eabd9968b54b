// Where `keepsake login` keeps its session for the other client commands:
// $XDG_CONFIG_HOME/keepsake/session.json (default ~/.config/keepsake/session.json), mode 0600,
// written atomically, directory 0700. Holds the server, the access and the refresh token;
// never a password. Not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace keepsake::cli {

struct StoredSession {
  std::string server;
  std::string access_token;
  std::string refresh_token;
};

std::string SessionFilePath();
// nullopt when there is no session file (not logged in); kCorruption for a damaged one.
Result<std::optional<StoredSession>> LoadSession();
Status SaveSession(const StoredSession& session);
Status RemoveSession();

}  // namespace keepsake::cli
