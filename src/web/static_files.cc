#include "web/static_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web/form_encoding.h"

namespace keepsake::web {
namespace {

constexpr off_t kMaxFile = 4 * 1024 * 1024;  // the Webconf's files are a few KiB each

// Percent-decoded path segments of "/a/b.css"; empty when any segment could escape the
// directory or is hidden.
std::optional<std::string> SafeRelative(const std::string& path) {
  // The form decoder reads '+' as a space, which a path does not; no Webconf file has one.
  if (path.find('+') != std::string::npos) return std::nullopt;
  std::string decoded = DecodeFormText(path);
  if (decoded.empty() || decoded[0] != '/') return std::nullopt;
  std::string out;
  size_t start = 1;
  while (start <= decoded.size()) {
    size_t slash = decoded.find('/', start);
    std::string segment = decoded.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty() && slash != std::string::npos) return std::nullopt;  // "//"
    if (!segment.empty()) {
      if (segment[0] == '.' || segment.find('\0') != std::string::npos || segment.find('\\') != std::string::npos)
        return std::nullopt;
      if (!out.empty()) out += '/';
      out += segment;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out.empty() ? "index.html" : out;
}

HttpAnswer FileAnswer(int status, const std::string& name, std::string body, const std::string& etag) {
  HttpAnswer answer;
  answer.status = status;
  answer.headers = {{"Content-Type", StaticFiles::ContentTypeOf(name)}, {"Cache-Control", "no-cache"}};
  if (!etag.empty()) answer.headers.emplace_back("ETag", etag);
  answer.body = std::move(body);
  return answer;
}

// Reads a regular file of at most kMaxFile bytes; nullopt otherwise.
std::optional<std::string> ReadSmallFile(const std::string& path, std::string* etag) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxFile) {
    std::string body(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < body.size()) {
      ssize_t n = ::read(fd, body.data() + got, body.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == body.size()) {
      out = std::move(body);
      if (etag) *etag = fmt::format("\"{:x}-{:x}\"", st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

std::string StaticFiles::ContentTypeOf(const std::string& name) {
  auto ends = [&name](std::string_view ext) {
    return name.size() >= ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  if (ends(".woff2")) return "font/woff2";
  return "application/octet-stream";
}

HttpAnswer StaticFiles::NotFound() const {
  std::optional<std::string> page = ReadSmallFile(dir_ + "/404.html", nullptr);
  return FileAnswer(404, "404.html", page.value_or("<!doctype html><title>Not found</title><p>Not found.</p>"), "");
}

HttpAnswer StaticFiles::Serve(const std::string& path, const std::string& if_none_match) const {
  std::optional<std::string> relative = SafeRelative(path);
  if (!relative) return NotFound();
  std::string etag;
  std::optional<std::string> body = ReadSmallFile(dir_ + "/" + *relative, &etag);
  if (!body) return NotFound();
  if (!if_none_match.empty() && if_none_match == etag) return FileAnswer(304, *relative, "", etag);
  return FileAnswer(200, *relative, std::move(*body), etag);
}

}  // namespace keepsake::web
