// What the HTTP server (http_server.h) hands to the routes and takes back: a request with
// its head, its body (in memory, or in a file for an upload) and the peer's address; an
// answer that is a body in memory, a stream pulled chunk by chunk (a download), or a feed of
// server-sent events. Plain data, no Boost: the routes compile without the server.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace keepsake::web {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // the target before '?', still percent-encoded
  std::multimap<std::string, std::string> query;             // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;                                          // the body, when it was read into memory
  std::string body_file;  // the file the body was written to, when the route asked for that
  std::string remote_addr;

  // The value of header `name` (any case); "" when absent.
  std::string Header(std::string_view name) const;
  bool HasParam(const std::string& name) const { return query.count(name) > 0; }
  // The first value of query parameter `name`; "" when absent.
  std::string Param(const std::string& name) const;
};

// Server-sent events to any number of open streams. Publish from any thread; each stream
// gets every event published after it joined, and the last one at once when it joins.
class EventFeed {
 public:
  // Takes one event's text ("data: ...\n\n"); false when the stream has gone.
  using Sink = std::function<bool(const std::string& event)>;

  void Join(Sink sink);
  void Publish(std::string event);
  size_t streams() const;

 private:
  mutable std::mutex mu_;
  std::vector<Sink> sinks_;
  std::string last_;
};

struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type among them
  std::string body;
  // A body too large for memory: called on a worker thread until it returns an empty
  // chunk (the end) or an error (the connection is cut, so the client sees a truncated
  // transfer rather than a short file presented as whole).
  std::function<Result<std::string>()> stream;
  std::optional<uint64_t> stream_length;  // Content-Length of `stream`; unset: chunked
  std::shared_ptr<EventFeed> events;      // a text/event-stream held open on this feed
  bool close = false;                     // close the connection after this answer
};

// How to take a request's body, decided from its head before any of the body is read.
struct BodyPlan {
  std::optional<HttpAnswer> refuse;  // answer this at once; the body is not read
  uint64_t limit = 64 * 1024;        // bytes; more is answered 413
  std::string to_file;               // write the body to this new file (0600), not memory
};

// What the server calls. Both run on the server's worker threads, never on the threads that
// move bytes, so they may block (a slow NFS listing delays only its own request).
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual BodyPlan Plan(const HttpRequest& head) = 0;
  virtual HttpAnswer Handle(HttpRequest& request) = 0;
  // The answer for an error the server finds itself (400 bad request, 413 too large).
  virtual HttpAnswer Error(int status, const std::string& message) = 0;
};

}  // namespace keepsake::web
