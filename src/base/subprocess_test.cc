#include "base/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "base/file_io.h"
#include "base/test_temp_dir.h"

namespace keepsake {
namespace {

class SubprocessTest : public ::testing::Test {
 protected:
  // Runs `script` with sh and returns what it printed on stdout.
  std::string Stdout(const std::string& script, const std::vector<std::string>& extra_env = {}) {
    ProcessOptions options;
    options.extra_env = extra_env;
    options.stdout_path = dir_ + "/stdout";
    auto result = RunProcess({"sh", "-c", script}, options);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    auto text = ReadSmallFile(options.stdout_path, 1 << 20);
    EXPECT_TRUE(text.ok());
    return text.ok() ? *text : "";
  }

  TestTempDir tmp_{"ks_subprocess"};
  std::string dir_ = tmp_.path();
};

TEST_F(SubprocessTest, ArgumentsReachTheProgramVerbatimWithoutAShell) {
  ProcessOptions options;
  options.stdout_path = dir_ + "/out";
  auto result = RunProcess({"printf", "%s|", "$HOME", "a b", "; rm -rf /", "'q'"}, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(*ReadSmallFile(options.stdout_path, 1000), "$HOME|a b|; rm -rf /|'q'|");
  struct stat st;
  ASSERT_EQ(stat(options.stdout_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SubprocessTest, AnyExitReportsStatusAndStderr) {
  auto result = RunProcessAnyExit({"sh", "-c", "echo >&2; echo '  first line ' >&2; echo second >&2; exit 3"}, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->term_signal, 0);
  EXPECT_FALSE(result->success());
  EXPECT_EQ(result->FirstStderrLine(), "first line");
  EXPECT_EQ(result->stderr_text, "\n  first line \nsecond\n");
}

TEST_F(SubprocessTest, NonZeroExitIsIoErrorWithTheFirstStderrLine) {
  auto result = RunProcess({"sh", "-c", "echo 'could not do it' >&2; echo more >&2; exit 1"});
  EXPECT_EQ(result.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(result.status().message(), "sh: could not do it");
}

TEST_F(SubprocessTest, TheProgramsOwnPrefixIsNotRepeated) {
  auto result = RunProcess({"sh", "-c", "echo 'sh: error: bad thing' >&2; exit 1"});
  EXPECT_EQ(result.status().message(), "sh: error: bad thing");
}

TEST_F(SubprocessTest, SilentFailureNamesTheExitStatus) {
  auto result = RunProcess({"false"});
  EXPECT_EQ(result.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(result.status().message(), "false: exited with status 1");
}

TEST_F(SubprocessTest, SuccessIsOk) {
  auto result = RunProcess({"true"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->success());
  EXPECT_EQ(result->stderr_text, "");
}

TEST_F(SubprocessTest, MissingProgramIsNotFound) {
  auto result = RunProcess({"ks-no-such-program-4711", "x"});
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(result.status().message().find("ks-no-such-program-4711: program not found"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(RunProcess({dir_ + "/missing"}).status().code(), ErrorCode::kNotFound);
}

TEST_F(SubprocessTest, NonExecutableFileIsPermissionDenied) {
  std::string path = dir_ + "/script";
  ASSERT_TRUE(WriteFileAtomic(path, "#!/bin/sh\nexit 0\n", 0644).ok());
  EXPECT_EQ(RunProcess({path}).status().code(), ErrorCode::kPermissionDenied);
}

TEST_F(SubprocessTest, TimeoutKillsTheProgramAndIsUnavailable) {
  auto start = std::chrono::steady_clock::now();
  auto result = RunProcess({"sleep", "20"}, {}, 200);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(result.status().message(), "sleep: still running after 200 ms; stopped");
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(SubprocessTest, TimeoutAppliesAfterTheProgramClosedStderr) {
  auto start = std::chrono::steady_clock::now();
  auto result = RunProcess({"sh", "-c", "exec 2>&-; exec sleep 20"}, {}, 200);
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SubprocessTest, FastProgramWithTimeoutSucceeds) {
  auto result = RunProcess({"sh", "-c", "echo hi >&2"}, {}, 10000);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->stderr_text, "hi\n");
}

TEST_F(SubprocessTest, StderrIsBoundedAndDrained) {
  // 1 MB on stderr: far more than a pipe holds, so the child blocks unless we drain it.
  auto result = RunProcessAnyExit({"sh", "-c", "head -c 1000000 /dev/zero | tr '\\000' x >&2; exit 0"}, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->success());
  EXPECT_EQ(result->stderr_text.size(), ProcessResult::kMaxStderrBytes);
  EXPECT_TRUE(result->stderr_truncated);
  EXPECT_EQ(result->stderr_text.find_first_not_of('x'), std::string::npos);
}

TEST_F(SubprocessTest, ExtraEnvSetsReplacesAndRemoves) {
  setenv("KS_SUBPROCESS_TEST_OLD", "old", 1);
  setenv("KS_SUBPROCESS_TEST_GONE", "here", 1);
  std::string out = Stdout(
      "printf '%s|%s|%s' \"$KS_SUBPROCESS_TEST_NEW\" \"$KS_SUBPROCESS_TEST_OLD\" "
      "\"${KS_SUBPROCESS_TEST_GONE-unset}\"",
      {"KS_SUBPROCESS_TEST_NEW=a=b", "KS_SUBPROCESS_TEST_OLD=new", "KS_SUBPROCESS_TEST_GONE"});
  EXPECT_EQ(out, "a=b|new|unset");
  unsetenv("KS_SUBPROCESS_TEST_OLD");
  unsetenv("KS_SUBPROCESS_TEST_GONE");
}

TEST_F(SubprocessTest, KilledBySignalIsReported) {
  auto result = RunProcessAnyExit({"sh", "-c", "kill -KILL $$"}, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->term_signal, SIGKILL);
  EXPECT_EQ(result->exit_code, 128 + SIGKILL);
  auto failed = RunProcess({"sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(failed.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(failed.status().message(), "sh: killed by signal 9 (KILL)");
}

TEST_F(SubprocessTest, UnwritableStdoutPathIsReportedBeforeStarting) {
  ProcessOptions options;
  options.stdout_path = dir_ + "/no/such/dir/out";
  EXPECT_EQ(RunProcess({"true"}, options).status().code(), ErrorCode::kNotFound);
}

TEST_F(SubprocessTest, ChildStartsWithNoBlockedOrIgnoredSignals) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  struct sigaction ignore = {}, old_pipe = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  std::string out = Stdout("grep -E '^Sig(Blk|Ign):' /proc/self/status");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  // Standard signals only (1..31): glibc's posix_spawn leaves its internal real-time
  // signals (32, 33) ignored, which no program relies on.
  constexpr unsigned long long kStandardSignals = 0x7fffffffULL;
  unsigned long long blocked = ~0ULL, ignored = ~0ULL;
  ASSERT_EQ(std::sscanf(out.c_str(), "SigBlk:\t%llx\nSigIgn:\t%llx", &blocked, &ignored), 2) << out;
  EXPECT_EQ(blocked & kStandardSignals, 0u) << out;
  EXPECT_EQ(ignored & kStandardSignals, 0u) << out;
}

TEST_F(SubprocessTest, ChildInheritsOnlyTheStandardDescriptors) {
  // Also closes descriptors this process inherited without close-on-exec (the test runner's
  // own, for example). ls holds one descriptor of its own on the directory it lists.
  std::string out = Stdout("ls /proc/self/fd | sort -n | tr '\\n' ' '");
  EXPECT_EQ(out, "0 1 2 3 ");
}

}  // namespace
}  // namespace keepsake
