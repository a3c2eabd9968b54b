// Running a helper program (pg_dump, pg_restore, ...) without a shell and waiting for it.
//
// The program gets argv exactly as given (no shell, no word splitting, found through this
// process's PATH when argv[0] has no '/'), stdin from /dev/null, stdout into /dev/null or a
// file, and its stderr is captured (the first kMaxStderrBytes; the rest is read and dropped
// so that the program never blocks on a full pipe). It inherits no other descriptor, no
// blocked signal and no ignored standard signal. A call returns once the program has exited
// and everything it started has closed its stderr (or the timeout struck). argv is visible to every local user through
// /proc/<pid>/cmdline: never put a secret in it; pass secrets through a file named in the
// environment instead (libpq's PGPASSFILE, for example).
//
// Thread-safe: every call owns its pipe and child, and all descriptors are opened
// close-on-exec so that concurrent calls never leak them into each other's children.
// The environment is read at the call: do not setenv() concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"

namespace keepsake {

struct ProcessOptions {
  // Changes to the inherited environment: "NAME=value" sets (or replaces) a variable,
  // "NAME" alone removes it.
  std::vector<std::string> extra_env;
  // Stops (SIGKILL) the program after this long; 0: no limit.
  int timeout_ms = 0;
  // Where stdout goes: empty for /dev/null, else a file created or truncated, mode 0600.
  std::string stdout_path;
};

struct ProcessResult {
  static constexpr size_t kMaxStderrBytes = 64 * 1024;

  int exit_code = 0;              // the exit status, or 128 + signal when killed by a signal
  int term_signal = 0;            // the signal that ended the program, 0 if it exited
  std::string stderr_text;        // the first kMaxStderrBytes of stderr
  bool stderr_truncated = false;  // more was written and dropped

  bool success() const { return term_signal == 0 && exit_code == 0; }
  // The first non-blank stderr line, or "" when stderr stayed empty.
  std::string FirstStderrLine() const;
};

// Runs argv[0] with `options` and waits for it; OK whenever the program ran to its end,
// whatever its exit status (inspect the ProcessResult). kNotFound when the program does
// not exist, kPermissionDenied when it cannot be executed, kUnavailable when it ran out of
// `timeout_ms` (it is killed and reaped first), the errno mapping when stdout_path cannot
// be created. REQUIRES: !argv.empty().
Result<ProcessResult> RunProcessAnyExit(const std::vector<std::string>& argv, const ProcessOptions& options);

// As RunProcessAnyExit, and also kIoError "<program>: <first stderr line>" when the program
// exits non-zero or is killed by a signal.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options);
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
                                 int timeout_ms = 0);

// The message RunProcess uses for a failed run: "<program>: <first stderr line>", with
// the program's own "<program>: " prefix on that line not repeated, or the exit status
// when stderr stayed empty.
std::string DescribeFailure(const std::vector<std::string>& argv, const ProcessResult& result);

}  // namespace keepsake
