#include "web/http_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "web/form_encoding.h"

namespace keepsake::web {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Seconds = std::chrono::seconds;

struct HttpServer::Impl {
  Impl(const HttpLimits& l, HttpHandler& h) : limits(l), handler(h), ioc(l.io_threads), workers(l.workers) {}

  HttpLimits limits;
  HttpHandler& handler;
  // Open connections, in all and per client address; released by each connection's Slot.
  // Declared before the io_context, so they outlive the connections it destroys.
  std::mutex mu;
  std::unordered_map<std::string, size_t> per_client;
  size_t open = 0;
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::optional<net::ssl::context> tls;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_retry{ioc};
  net::thread_pool workers;
  int port = 0;

  void Accept();
  void OnAccept(tcp::socket socket);
};

namespace {

// One counted connection: taken at accept, given back when the connection object dies.
class Slot {
 public:
  Slot(HttpServer::Impl& server, std::string client) : server_(server), client_(std::move(client)) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    std::lock_guard lock(server_.mu);
    --server_.open;
    auto it = server_.per_client.find(client_);
    if (it != server_.per_client.end() && --it->second == 0) server_.per_client.erase(it);
  }
  const std::string& client() const { return client_; }

 private:
  HttpServer::Impl& server_;
  std::string client_;
};

// Everything of one connection: TLS handshake, requests one after another (keep-alive),
// each read, planned, handled on a worker and answered. All of it runs on the connection's
// strand; work for the handler is posted to the worker pool and its result posted back.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Connection(HttpServer::Impl& server, Stream stream, std::unique_ptr<Slot> slot)
      : server_(server), limits_(server.limits), stream_(std::move(stream)), slot_(std::move(slot)) {}

  ~Connection() {
    if (!upload_path_.empty()) ::unlink(upload_path_.c_str());  // an upload that never reached its handler
  }

  void Start() {
    Tcp().expires_after(Seconds(limits_.head_seconds));  // the handshake and the first head together
    if constexpr (kTls) {
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->Drop();
        self->ReadHead(false);
      });
    } else {
      ReadHead(false);
    }
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  auto Self() { return this->shared_from_this(); }

  // Between requests: wait up to idle_seconds for the first byte of the next one.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHead(true);  // already here (pipelined)
    Tcp().expires_after(Seconds(limits_.idle_seconds));
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](beast::error_code ec, size_t n) {
      if (ec) return self->Drop();
      self->buffer_.commit(n);
      self->ReadHead(true);
    });
  }

  void ReadHead(bool new_deadline) {
    if (new_deadline) Tcp().expires_after(Seconds(limits_.head_seconds));
    head_.emplace();
    head_->header_limit(static_cast<uint32_t>(limits_.max_head_bytes));
    // The body's limit is the route's (ReadBodyNow); the head's parser must not judge it.
    head_->body_limit(boost::none);
    http::async_read_header(stream_, buffer_, *head_,
                            [self = Self()](beast::error_code ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Reject(431, fmt::format("the request's head is over {} bytes", limits_.max_head_bytes));
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::ssl::error::stream_truncated) {
      return Drop();
    }
    if (ec) return Reject(400, fmt::format("malformed HTTP request: {}", ec.message()));
    Tcp().expires_never();  // the handler's own time is not the client's to spend
    const auto& head = head_->get();
    request_ = HttpRequest();
    request_.method = std::string(head.method_string());
    std::string_view target = head.target();
    size_t question = target.find('?');
    request_.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request_.query = DecodeFormFields(target.substr(question + 1));
    for (const auto& field : head) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request_.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request_.remote_addr = slot_->client();
    keep_alive_ = head.keep_alive();
    net::post(server_.workers, [self = Self()] {
      BodyPlan plan = self->server_.handler.Plan(self->request_);
      net::post(self->stream_.get_executor(),
                [self, plan = std::move(plan)]() mutable { self->ReadBody(std::move(plan)); });
    });
  }

  void ReadBody(BodyPlan plan) {
    if (plan.refuse) {
      if (!head_->is_done()) {  // its body is not read: the connection cannot go on
        plan.refuse->close = true;
        linger_ = true;
      }
      return Send(std::move(*plan.refuse));
    }
    if (head_->is_done()) return Handle();  // no body
    if (request_.Header("expect") == "100-continue") {
      Tcp().expires_after(Seconds(limits_.io_seconds));
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = Self(), plan = std::move(plan)](beast::error_code ec, size_t) mutable {
                                if (ec) return self->Drop();
                                self->ReadBodyNow(std::move(plan));
                              });
    }
    ReadBodyNow(std::move(plan));
  }

  void ReadBodyNow(BodyPlan plan) {
    // A Content-Length is checked here: Beast checks its limit when it parses that header,
    // which was before the route's plan was known.
    if (auto length = head_->content_length(); length && *length > plan.limit) {
      linger_ = true;
      return Reject(413, "request body too large");
    }
    if (plan.to_file.empty()) {
      string_body_.emplace(std::move(*head_));
      string_body_->body_limit(plan.limit);
      Tcp().expires_after(Seconds(limits_.io_seconds));
      return http::async_read(stream_, buffer_, *string_body_, [self = Self()](beast::error_code ec, size_t) {
        if (ec) return self->OnBodyError(ec);
        self->request_.body = std::move(self->string_body_->get().body());
        self->string_body_.reset();
        self->Handle();
      });
    }
    // Created here, 0600 and new (never an existing file), before Beast opens it to write.
    int fd = ::open(plan.to_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Reject(500, fmt::format("{}: cannot create the upload file: {}", plan.to_file, strerror(errno)));
    ::close(fd);
    upload_path_ = plan.to_file;
    file_body_.emplace(std::move(*head_));
    file_body_->body_limit(plan.limit);
    beast::error_code ec;
    file_body_->get().body().open(plan.to_file.c_str(), beast::file_mode::write_existing, ec);
    if (ec) return Reject(500, fmt::format("{}: cannot open the upload file: {}", plan.to_file, ec.message()));
    ReadFileBody();
  }

  // An upload streams to its file a buffer at a time; each read must progress in io_seconds.
  void ReadFileBody() {
    Tcp().expires_after(Seconds(limits_.io_seconds));
    http::async_read_some(stream_, buffer_, *file_body_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->OnBodyError(ec);
      if (!self->file_body_->is_done()) return self->ReadFileBody();
      self->file_body_->get().body().close();
      self->file_body_.reset();
      self->request_.body_file = std::move(self->upload_path_);  // the handler owns it now
      self->upload_path_.clear();
      self->Handle();
    });
  }

  void OnBodyError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      linger_ = true;
      return Reject(413, "request body too large");
    }
    if (ec == beast::errc::no_space_on_device) {
      return Reject(507, "the appliance's disk is full: the upload did not fit; free space and try again");
    }
    Drop();  // the client went away or was too slow
  }

  void Handle() {
    net::post(server_.workers, [self = Self()] {
      HttpAnswer answer = self->server_.handler.Handle(self->request_);
      net::post(self->stream_.get_executor(),
                [self, answer = std::move(answer)]() mutable { self->Send(std::move(answer)); });
    });
  }

  // An error found here, answered through the handler's error shape; the connection ends.
  void Reject(int status, const std::string& message) {
    net::post(server_.workers, [self = Self(), status, message] {
      HttpAnswer answer = self->server_.handler.Error(status, message);
      answer.close = true;
      net::post(self->stream_.get_executor(),
                [self, answer = std::move(answer)]() mutable { self->Send(std::move(answer)); });
    });
  }

  template <class Message>
  void SetHead(Message& m, const HttpAnswer& answer) {
    m.result(static_cast<unsigned>(answer.status));
    m.version(11);
    for (const auto& [name, value] : answer.headers) m.insert(name, value);
    keep_alive_ = keep_alive_ && !answer.close;
    m.keep_alive(keep_alive_);
  }

  void Send(HttpAnswer answer) {
    if (answer.events) return SendEvents(std::move(answer));
    if (answer.stream) return SendStream(std::move(answer));
    Tcp().expires_after(Seconds(limits_.io_seconds));
    if (request_.method == "HEAD") {
      auto res = std::make_shared<http::response<http::empty_body>>();
      SetHead(*res, answer);
      res->content_length(answer.body.size());
      return http::async_write(stream_, *res,
                               [self = Self(), res](beast::error_code ec, size_t) { self->AfterAnswer(ec); });
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    SetHead(*res, answer);
    res->body() = std::move(answer.body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = Self(), res](beast::error_code ec, size_t) { self->AfterAnswer(ec); });
  }

  void AfterAnswer(beast::error_code ec) {
    if (!ec && linger_) return Linger(0);
    if (ec || !keep_alive_) return Close(!ec);
    WaitForRequest();
  }

  // After refusing a body not read: read and drop what the client still sends, for a while,
  // before closing. A client that writes its whole body before it reads (most do) would
  // otherwise get a reset instead of the answer that says why (as nginx's lingering close).
  void Linger(size_t dropped) {
    static constexpr size_t kMaxDropped = 16 * 1024 * 1024;
    if (dropped > kMaxDropped) return Close(false);
    buffer_.clear();
    Tcp().expires_after(Seconds(2));
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = Self(), dropped](beast::error_code ec, size_t n) {
      if (ec) return self->Close(false);
      self->Linger(dropped + n);
    });
  }

  // A download: the head, then chunks pulled from the handler's stream on a worker, one at a
  // time, so a slow client holds one chunk in memory and no thread.
  void SendStream(HttpAnswer answer) {
    stream_head_ = std::make_shared<http::response<http::empty_body>>();
    SetHead(*stream_head_, answer);
    if (answer.stream_length) {
      stream_head_->content_length(*answer.stream_length);
    } else {
      stream_head_->chunked(true);
    }
    chunked_ = !answer.stream_length;
    stream_left_ = answer.stream_length.value_or(0);
    pull_ = std::move(answer.stream);
    stream_writer_ = std::make_shared<http::response_serializer<http::empty_body>>(*stream_head_);
    Tcp().expires_after(Seconds(limits_.io_seconds));
    http::async_write_header(stream_, *stream_writer_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Drop();
      if (self->request_.method == "HEAD") return self->AfterAnswer(ec);
      self->PullChunk();
    });
  }

  void PullChunk() {
    net::post(server_.workers, [self = Self()] {
      Result<std::string> chunk = self->pull_();
      net::post(self->stream_.get_executor(),
                [self, chunk = std::move(chunk)]() mutable { self->WriteChunk(std::move(chunk)); });
    });
  }

  void WriteChunk(Result<std::string> chunk) {
    if (!chunk.ok()) {
      log::warn("{} {}: the download stopped: {}", request_.method, request_.path, chunk.status().message());
      return Drop();  // cut: the client must not take a short file for a whole one
    }
    Tcp().expires_after(Seconds(limits_.io_seconds));
    chunk_ = std::move(*chunk);
    auto next = [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Drop();
      self->PullChunk();
    };
    if (chunk_.empty()) {
      pull_ = nullptr;
      if (!chunked_) return stream_left_ == 0 ? AfterAnswer({}) : Drop();
      return net::async_write(stream_, http::make_chunk_last(),
                              [self = Self()](beast::error_code ec, size_t) { self->AfterAnswer(ec); });
    }
    if (chunked_) return net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), next);
    if (chunk_.size() > stream_left_) return Drop();  // longer than it said: never send more than announced
    stream_left_ -= chunk_.size();
    net::async_write(stream_, net::buffer(chunk_), next);
  }

  // Server-sent events: the head, then each event of the feed as a chunk, until the
  // stream's time is up (the browser reconnects and is checked again) or the client leaves.
  void SendEvents(HttpAnswer answer) {
    stream_head_ = std::make_shared<http::response<http::empty_body>>();
    SetHead(*stream_head_, answer);
    stream_head_->chunked(true);
    stream_writer_ = std::make_shared<http::response_serializer<http::empty_body>>(*stream_head_);
    Tcp().expires_after(Seconds(limits_.io_seconds));
    http::async_write_header(stream_, *stream_writer_,
                             [self = Self(), feed = answer.events](beast::error_code ec, size_t) {
                               if (ec) return self->Drop();
                               self->events_end_.expires_after(Seconds(self->limits_.event_stream_seconds));
                               self->events_end_.async_wait([self](beast::error_code) { self->EndEvents(); });
                               std::weak_ptr<Connection> weak = self;
                               auto executor = self->stream_.get_executor();
                               feed->Join([weak, executor](const std::string& event) {
                                 auto conn = weak.lock();
                                 if (!conn || conn->closed_) return false;
                                 net::post(executor, [conn, event] { conn->QueueEvent(event); });
                                 return true;
                               });
                             });
  }

  void QueueEvent(const std::string& event) {
    if (closed_ || events_ending_) return;
    queued_bytes_ += event.size();
    if (queued_bytes_ > 1024 * 1024) return Drop();  // a client that does not read
    events_.push_back(event);
    if (!writing_) WriteEvent();
  }

  void WriteEvent() {
    if (events_.empty()) {
      writing_ = false;
      if (events_ending_) EndEvents();
      return;
    }
    writing_ = true;
    Tcp().expires_after(Seconds(limits_.io_seconds));
    net::async_write(stream_, http::make_chunk(net::buffer(events_.front())),
                     [self = Self()](beast::error_code ec, size_t) {
                       if (ec) return self->Drop();
                       self->queued_bytes_ -= self->events_.front().size();
                       self->events_.pop_front();
                       self->WriteEvent();
                     });
  }

  void EndEvents() {
    if (closed_) return;
    events_ending_ = true;
    if (writing_) return;  // WriteEvent comes back here when the queue is written
    writing_ = true;
    Tcp().expires_after(Seconds(limits_.io_seconds));
    net::async_write(stream_, http::make_chunk_last(),
                     [self = Self()](beast::error_code ec, size_t) { self->Close(!ec); });
  }

  // Ends the connection; with a TLS close_notify when the peer is still there.
  void Close(bool graceful) {
    if (closed_) return;
    closed_ = true;
    events_end_.cancel();
    if constexpr (kTls) {
      if (graceful) {
        Tcp().expires_after(Seconds(2));
        return stream_.async_shutdown([self = Self()](beast::error_code) { self->Tcp().close(); });
      }
    } else {
      beast::error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    Tcp().close();
  }
  void Drop() { Close(false); }

  HttpServer::Impl& server_;
  const HttpLimits& limits_;
  Stream stream_;
  std::unique_ptr<Slot> slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> string_body_;
  std::optional<http::request_parser<http::file_body>> file_body_;
  std::string upload_path_;  // removed unless handed to the handler
  HttpRequest request_;
  bool keep_alive_ = false;
  bool linger_ = false;  // an answer was sent before the request's body was read
  bool closed_ = false;
  // A streamed answer (download or events).
  std::shared_ptr<http::response<http::empty_body>> stream_head_;
  std::shared_ptr<http::response_serializer<http::empty_body>> stream_writer_;
  std::function<Result<std::string>()> pull_;
  std::string chunk_;
  bool chunked_ = true;
  uint64_t stream_left_ = 0;
  std::deque<std::string> events_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool events_ending_ = false;
  net::steady_timer events_end_{stream_.get_executor()};
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopping
    if (ec) {
      // Out of file descriptors, most likely: wait a little rather than spin.
      log::warn("accepting a connection failed: {}", ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      return accept_retry.async_wait([this](beast::error_code e) {
        if (!e) Accept();
      });
    }
    OnAccept(std::move(socket));
    Accept();
  });
}

void HttpServer::Impl::OnAccept(tcp::socket socket) {
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;
  std::string client = peer.address().to_string();
  std::unique_ptr<Slot> slot;
  {
    std::lock_guard lock(mu);
    size_t& mine = per_client[client];
    if (open >= limits.max_connections || mine >= limits.max_client_connections) {
      if (mine == 0) per_client.erase(client);
      auto now = std::chrono::steady_clock::now();
      if (now - last_refusal_log > std::chrono::seconds(60)) {
        last_refusal_log = now;
        log::warn("refusing connections from {}: {} open from it, {} in all (limits {} per client, {} in all)", client,
                  mine, open, limits.max_client_connections, limits.max_connections);
      }
      return;  // the socket closes here
    }
    ++mine;
    ++open;
  }
  slot = std::make_unique<Slot>(*this, client);
  socket.set_option(tcp::no_delay(true), ec);  // small answers: no Nagle delay
  if (tls) {
    std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
        *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls), std::move(slot))
        ->Start();
  } else {
    std::make_shared<Connection<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), std::move(slot))
        ->Start();
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Bind(const std::string& host, int port,
                                                     const std::optional<TlsFiles>& tls, const HttpLimits& limits,
                                                     HttpHandler& handler) {
  HttpLimits l = limits;
  // Each connection is a file descriptor: use all the process may open, keep a reserve.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur > 256) {
      l.max_connections = std::min<size_t>(l.max_connections, files.rlim_cur - 128);
    }
  }
  auto impl = std::make_unique<Impl>(l, handler);
  if (tls) {
    auto& ctx = impl->tls.emplace(net::ssl::context::tls_server);
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                    net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    beast::error_code ec;
    ctx.use_certificate_chain_file(tls->cert_path, ec);
    if (!ec) ctx.use_private_key_file(tls->key_path, net::ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument(fmt::format("{} / {}: the TLS certificate or key could not be loaded: {}",
                                                 tls->cert_path, tls->key_path, ec.message()));
    }
  }
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto& acceptor = impl->acceptor;
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable(
        fmt::format("{}:{}: cannot listen: address already in use or not available ({})", host, port, ec.message()));
  }
  impl->port = acceptor.local_endpoint().port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

Status HttpServer::Run() {
  impl_->Accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->limits.io_threads; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  // Handlers still running finish; queued ones are dropped with their connections.
  impl_->workers.stop();
  impl_->workers.join();
  return Status();
}

void HttpServer::Stop() {
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->ioc.stop();
}

}  // namespace keepsake::web
