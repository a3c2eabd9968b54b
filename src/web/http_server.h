// An event-driven HTTP/1.1 server (Boost.Beast on Asio) that idle, slow or many clients
// cannot exhaust. A few threads move bytes for every connection; a connection costs a
// socket and a buffer, not a thread, until its request is whole; only then does a worker
// thread run the handler. Every stage has a deadline: the TLS handshake and a request's head
// must arrive within `head_seconds` of their first byte, a connection idle between requests
// is closed after `idle_seconds`, and every read of a body and every write must progress
// within `io_seconds`. Connections are capped in all and per client address.
// Why not cpp-httplib (used before): it gives each connection a thread from a fixed pool,
// so 16 clients sending a header line every few seconds shut everyone else out.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "web/http_message.h"
#include "web/tls_certificate.h"

namespace keepsake::web {

struct HttpLimits {
  int io_threads = 2;                  // threads moving bytes (TLS included)
  int workers = 16;                    // threads running handlers
  size_t max_connections = 2000;       // in all (also bounded by the open-file limit); ~130 KiB each with TLS
  size_t max_client_connections = 64;  // from one client address
  size_t max_head_bytes = 16 * 1024;   // request line and headers
  int head_seconds = 10;               // TLS handshake, request line and headers
  int idle_seconds = 60;               // keep-alive between requests
  int io_seconds = 30;                 // each body read, each write
  int event_stream_seconds = 60;       // an event stream ends then; the browser reconnects
};

class HttpServer {
 public:
  // Listens on host:port (0: any free port) with TLS from `tls` when set.
  // kUnavailable "HOST:PORT: cannot listen: ..." or kInvalidArgument for a bad certificate.
  static Result<std::unique_ptr<HttpServer>> Bind(const std::string& host, int port, const std::optional<TlsFiles>& tls,
                                                  const HttpLimits& limits, HttpHandler& handler);
  ~HttpServer();

  int port() const;
  // Serves until Stop(); returns when the threads are done.
  Status Run();
  // Any thread. Requests being handled finish; open connections are dropped.
  void Stop();

  struct Impl;  // the listener and its connections (http_server.cc)

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keepsake::web
