#include "base/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

extern char** environ;

namespace keepsake {
namespace {

using Clock = std::chrono::steady_clock;

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Keeps our descriptors off 0, 1 and 2: when the parent runs with a standard descriptor
// closed, a pipe end could land there and be clobbered by the child's dup2 sequence.
Status AboveStdio(ScopedFd& fd, std::string_view what) {
  if (fd.get() > 2) return Status();
  int moved = fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return StatusFromErrno(errno, what);
  fd.Reset(moved);
  return Status();
}

std::string_view VarName(std::string_view entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> BuildEnvironment(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  for (const std::string& change : changes) {
    std::string_view name = VarName(change);
    std::erase_if(env, [&](const std::string& e) { return VarName(e) == name; });
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  return env;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Waits for `pid`, until `deadline` when there is one: 1 when reaped, 0 on timeout, -1 on
// an error (errno set; ECHILD when SIGCHLD is ignored and the kernel reaped the child).
int Reap(pid_t pid, int* wstatus, bool has_deadline, Clock::time_point deadline) {
  if (!has_deadline) {
    for (;;) {
      if (waitpid(pid, wstatus, 0) == pid) return 1;
      if (errno != EINTR) return -1;
    }
  }
  // Stderr closes a moment before the exit becomes visible: poll briefly, backing off.
  auto tick = std::chrono::milliseconds(1);
  for (;;) {
    pid_t r = waitpid(pid, wstatus, WNOHANG);
    if (r == pid) return 1;
    if (r < 0 && errno != EINTR) return -1;
    auto now = Clock::now();
    if (now >= deadline) return 0;
    std::this_thread::sleep_for(std::min<Clock::duration>(tick, deadline - now));
    tick = std::min(tick * 2, std::chrono::milliseconds(50));
  }
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string ProcessResult::FirstStderrLine() const {
  size_t pos = 0;
  while (pos < stderr_text.size()) {
    size_t end = stderr_text.find('\n', pos);
    if (end == std::string::npos) end = stderr_text.size();
    std::string_view line(stderr_text.data() + pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    size_t start = line.find_first_not_of(" \t");
    if (start != std::string_view::npos) return std::string(line.substr(start));
    pos = end + 1;
  }
  return "";
}

std::string DescribeFailure(const std::vector<std::string>& argv, const ProcessResult& result) {
  std::string program = argv.empty() ? "?" : argv[0];
  std::string base = program.substr(program.rfind('/') + 1);
  std::string line = result.FirstStderrLine();
  if (line.empty()) {
    if (result.term_signal != 0) {
      return fmt::format("{}: killed by signal {} ({})", program, result.term_signal,
                         sigabbrev_np(result.term_signal) ? sigabbrev_np(result.term_signal) : "?");
    }
    return fmt::format("{}: exited with status {}", program, result.exit_code);
  }
  // Most tools start their messages with their own name: do not say it twice.
  std::string_view rest = line;
  for (const std::string& prefix : {program + ":", base + ":"}) {
    if (rest.starts_with(prefix)) {
      rest.remove_prefix(prefix.size());
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      break;
    }
  }
  return fmt::format("{}: {}", program, rest);
}

Result<ProcessResult> RunProcessAnyExit(const std::vector<std::string>& argv, const ProcessOptions& options) {
  KS_CHECK(!argv.empty());
  const std::string& program = argv[0];

  ScopedFd in(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return StatusFromErrno(errno, "/dev/null");
  RETURN_IF_ERROR(AboveStdio(in, "/dev/null"));
  const bool to_file = !options.stdout_path.empty();
  const std::string& out_path = to_file ? options.stdout_path : std::string("/dev/null");
  ScopedFd out(to_file ? open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                       : open(out_path.c_str(), O_WRONLY | O_CLOEXEC));
  if (out.get() < 0) return StatusFromErrno(errno, out_path);
  RETURN_IF_ERROR(AboveStdio(out, out_path));
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return StatusFromErrno(errno, fmt::format("{}: stderr pipe", program));
  ScopedFd err_read(pipe_fds[0]);
  ScopedFd err_write(pipe_fds[1]);
  RETURN_IF_ERROR(AboveStdio(err_read, "stderr pipe"));
  RETURN_IF_ERROR(AboveStdio(err_write, "stderr pipe"));

  std::vector<std::string> env = BuildEnvironment(options.extra_env);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies, so the child keeps exactly 0, 1 and 2.
  posix_spawn_file_actions_adddup2(&actions, in.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  // Descriptors opened elsewhere without close-on-exec (by libraries, or inherited from
  // whoever started us) must not reach the program either.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A daemon blocks SIGTERM in its threads and may ignore SIGPIPE; the child must start
  // with neither, or it could not be stopped and would ignore broken pipes.
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  // glibc reports a failed exec (missing program, no permission) as posix_spawnp's result.
  int rc = posix_spawnp(&pid, program.c_str(), &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (rc == ENOENT) {
      return Status::NotFound(fmt::format("{}: program not found (is it installed and in PATH?)", program));
    }
    return StatusFromErrno(rc, fmt::format("{}: cannot start", program));
  }
  // Only the child may hold the write end, or we would never see end-of-file.
  err_write.Reset();
  in.Reset();
  out.Reset();

  const bool has_deadline = options.timeout_ms > 0;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(std::max(options.timeout_ms, 0));
  auto timed_out = [&]() -> Status {
    KillAndReap(pid);
    return Status::Unavailable(fmt::format("{}: still running after {} ms; stopped", program, options.timeout_ms));
  };

  ProcessResult result;
  char buf[8192];
  for (;;) {
    int wait_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return timed_out();
      wait_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    pollfd pfd{err_read.get(), POLLIN, 0};
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      Status st = StatusFromErrno(errno, fmt::format("{}: waiting for stderr", program));
      KillAndReap(pid);
      return st;
    }
    if (r == 0) continue;
    ssize_t n = read(err_read.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      Status st = StatusFromErrno(errno, fmt::format("{}: reading stderr", program));
      KillAndReap(pid);
      return st;
    }
    if (n == 0) break;
    // Keep the first lines (where tools say what went wrong) and keep draining the rest,
    // so that a chatty program never blocks on a full pipe.
    size_t room = ProcessResult::kMaxStderrBytes - result.stderr_text.size();
    size_t take = std::min(room, static_cast<size_t>(n));
    result.stderr_text.append(buf, take);
    if (take < static_cast<size_t>(n)) result.stderr_truncated = true;
  }

  int wstatus = 0;
  int reaped = Reap(pid, &wstatus, has_deadline, deadline);
  if (reaped == 0) return timed_out();
  if (reaped < 0) return StatusFromErrno(errno, fmt::format("{}: waiting for its exit status", program));
  if (WIFSIGNALED(wstatus)) {
    result.term_signal = WTERMSIG(wstatus);
    result.exit_code = 128 + result.term_signal;
  } else if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  }
  return result;
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ASSIGN_OR_RETURN(ProcessResult result, RunProcessAnyExit(argv, options));
  if (!result.success()) return Status::IoError(DescribeFailure(argv, result));
  return result;
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                                 int timeout_ms) {
  ProcessOptions options;
  options.extra_env = extra_env;
  options.timeout_ms = timeout_ms;
  return RunProcess(argv, options);
}

}  // namespace keepsake
