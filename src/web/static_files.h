// The Webconf's files (index.html, app.js, style.css, ...), served from the one directory
// the program installs them in. A path is looked up only after it is decoded and checked:
// no "..", no hidden names, no NUL, nothing outside the directory, regular files only.
// Caching: every answer may be kept but must be revalidated (no-cache with an ETag of size
// and modification time), so a new release is seen at once and an unchanged file costs a
// 304. A path that names no file gets the Webconf's own 404.html with status 404.
// Thread-safe (reads the directory per request: small files, and `make run` shows edits).
#pragma once

#include <string>

#include "web/http_message.h"

namespace keepsake::web {

class StaticFiles {
 public:
  explicit StaticFiles(std::string dir) : dir_(std::move(dir)) {}

  // The answer for GET `path` (percent-encoded, as received); `if_none_match` is the
  // request's If-None-Match header.
  HttpAnswer Serve(const std::string& path, const std::string& if_none_match) const;

  // "text/javascript; charset=utf-8" for "app.js"; application/octet-stream when unknown.
  static std::string ContentTypeOf(const std::string& name);

 private:
  HttpAnswer NotFound() const;
  std::string dir_;
};

}  // namespace keepsake::web
