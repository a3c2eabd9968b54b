// Reading the Domain Master Secret: from the terminal without echo, or from a file. Never
// from argv or the environment, where other processes and shell histories could see it.
#pragma once

#include <string>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::cli {

// Prompts on /dev/tty with echo off and reads one line. kFailedPrecondition without a
// terminal (the message points to --dms-file).
Result<SecureBuffer> ReadSecretFromTerminal(const char* prompt);

// Reads the first line of `path` (at most 4 KiB; one trailing newline is dropped).
Result<SecureBuffer> ReadSecretFile(const std::string& path);

}  // namespace keepsake::cli
