#include "cli/secret_input.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include "base/file_io.h"

namespace keepsake::cli {
namespace {

constexpr size_t kMaxSecretFile = 4096;

// Reads up to the first newline from `fd` into secure memory, one byte at a time so that
// nothing of the secret sits in stdio buffers.
Result<SecureBuffer> ReadLine(int fd, const std::string& what) {
  SecureBuffer buf(kMaxSecretFile);
  size_t len = 0;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return StatusFromErrno(errno, what);
    if (n == 0 || c == '\n') break;
    if (len == buf.size())
      return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", what, kMaxSecretFile));
    buf.data()[len++] = static_cast<uint8_t>(c);
  }
  if (len > 0 && buf.data()[len - 1] == '\r') --len;
  buf.Truncate(len);
  return buf;
}

}  // namespace

Result<SecureBuffer> ReadSecretFromTerminal(const char* prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::FailedPrecondition("no terminal to read the Domain Master Secret from; use --dms-file FILE");
  }
  struct termios old_mode;
  bool is_tty = tcgetattr(fd, &old_mode) == 0;
  if (is_tty) {
    struct termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!write(fd, prompt, strlen(prompt));
  auto secret = ReadLine(fd, "terminal");
  if (is_tty) tcsetattr(fd, TCSAFLUSH, &old_mode);
  (void)!write(fd, "\n", 1);
  close(fd);
  return secret;
}

Result<SecureBuffer> ReadSecretFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, FileSource::Open(path));
  return ReadLine(file->fd(), path);
}

}  // namespace keepsake::cli
