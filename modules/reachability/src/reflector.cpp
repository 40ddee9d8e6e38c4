// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/reflector.h"

#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "datagram_socket.h"
#include "p2psip/reachability/stun_message.h"
#include "source_rate_limiter.h"

namespace p2psip::reachability {

class Reflector::Impl final : public DatagramSocket::Owner {
 public:
  Impl(net::EventLoop& loop, const TimerService& clock, MetricsRegistry& metrics,
       ReflectorConfig config, Logger logger)
      : loop_(loop),
        clock_(clock),
        config_(std::move(config)),
        logger_(std::move(logger)),
        limiter_(config_.rateLimit),
        answers_(metrics.counter("p2psip_reachability_binding_answers_total")),
        changePortAnswers_(metrics.counter("p2psip_reachability_change_port_answers_total")),
        errorAnswers_(metrics.counter("p2psip_reachability_error_answers_total")),
        refused_(metrics.counter("p2psip_reachability_requests_refused_total")),
        malformed_(metrics.counter("p2psip_reachability_requests_malformed_total")),
        ignored_(metrics.counter("p2psip_reachability_datagrams_ignored_total")),
        sendErrors_(metrics.counter("p2psip_reachability_send_errors_total")),
        connectAccepted_(metrics.counter("p2psip_reachability_connect_backs_accepted_total")),
        connectNotAccepted_(
            metrics.counter("p2psip_reachability_connect_backs_not_accepted_total")),
        connectNotTried_(metrics.counter("p2psip_reachability_connect_backs_not_tried_total")),
        sources_(metrics.gauge("p2psip_reachability_rate_limited_sources")) {}

  ~Impl() { stop(); }

  Result<void> start() {
    if (sockets_[0]) return makeError(ErrorCode::InvalidArgument, "reflector already started");
    if (auto ok = validate(config_); !ok) return ok;
    auto primary = DatagramSocket::open(loop_.context(), config_.primary, *this);
    if (!primary) return tl::unexpected(primary.error());
    net::Endpoint alternate{config_.primary.address, config_.alternatePort};
    if (alternate.port == 0 && config_.primary.port != 0) {
      alternate.port = static_cast<std::uint16_t>(config_.primary.port + 1);
    }
    auto second = DatagramSocket::open(loop_.context(), alternate, *this);
    if (!second) {
      (*primary)->detach();
      return tl::unexpected(second.error());
    }
    sockets_ = {std::move(*primary), std::move(*second)};
    for (auto& s : sockets_) s->start();
    logger_.info("reachability: reflector on {} (alternate port {})",
                 sockets_[0]->local().toString(), sockets_[1]->local().port);
    return {};
  }

  void stop() {
    // Attempts in progress end without an answer; their handlers find them gone.
    for (auto& [id, attempt] : connectBacks_) {
      asio::error_code ignored;
      attempt->tcp.close(ignored);
      attempt->timer.cancel();
    }
    connectBacks_.clear();
    for (auto& s : sockets_) {
      if (s) s->detach();
      s.reset();
    }
  }

  net::Endpoint endpoint(std::size_t i) const {
    return sockets_[i] ? sockets_[i]->local() : net::Endpoint{};
  }

  void onDatagram(DatagramSocket& socket, std::string_view datagram,
                  const net::Endpoint& from) override {
    // A source port of 0 cannot be answered.
    if (from.port == 0) {
      ignored_.inc();
      return;
    }
    // The rate limit comes before decoding, so a flood costs one table lookup per datagram.
    const bool admitted = limiter_.admit(from.address, clock_.now());
    sources_.set(static_cast<std::int64_t>(limiter_.sources()));
    if (!admitted) {
      refused_.inc();
      return;
    }
    auto request = decodeStun(datagram);
    if (!request) {
      // RFC 5389 §7.3: a message that fails the basic checks is silently discarded.
      malformed_.inc();
      if (logger_.shouldLog(spdlog::level::debug)) {
        logger_.debug("reachability: dropped datagram from {}: {}", from.toString(),
                      request.error().detail);
      }
      return;
    }
    // Indications (RFC 5389 §7.3.2, e.g. keepalives) and stray responses get no answer.
    if (request->messageClass != StunClass::Request) {
      ignored_.inc();
      return;
    }
    const std::size_t arrivedOn = &socket == sockets_[0].get() ? 0 : 1;
    if (request->method != kBindingMethod) {
      answerError(arrivedOn, from, *request, 400, "Bad Request: only Binding is supported", {});
      return;
    }
    // RFC 5389 §7.3.1: unknown comprehension-required attributes get 420 listing them.
    if (!request->unknownRequired.empty()) {
      answerError(arrivedOn, from, *request, 420, "Unknown Attribute", request->unknownRequired);
      return;
    }
    // One IP address: "change IP" cannot be honoured. Say so the way RFC 5389 §7.3.1 says it
    // for an attribute the server does not support (420 naming it), rather than answer from
    // the wrong address and mislead the client's filtering test.
    if (request->changeRequest && request->changeRequest->changeIp) {
      answerError(arrivedOn, from, *request, 420, "Unknown Attribute: no alternate address",
                  {attribute::kChangeRequest});
      return;
    }
    const bool changePort = request->changeRequest && request->changeRequest->changePort;
    // RFC 5780 §6.1: answer from the port the request did not reach when asked to change it.
    const std::size_t answerFrom = changePort ? 1 - arrivedOn : arrivedOn;
    if (request->connectBackPort && !changePort) {
      connectBack(arrivedOn, from, request->transactionId, *request->connectBackPort);
      return;
    }
    if (answerBinding(answerFrom, from, request->transactionId, std::nullopt) && changePort) {
      changePortAnswers_.inc();
    }
  }

 private:
  // One CONNECT-BACK in progress: a TCP connection to the asker's IP at the port it named; the
  // Binding answer waits for it (RFC 5389 §7.3 lets a server take its time; the asker
  // retransmits meanwhile, and those copies are recognised by transaction ID).
  struct ConnectBack {
    explicit ConnectBack(asio::io_context& io) : tcp(io), timer(io) {}
    std::size_t socket = 0;
    net::Endpoint from;
    std::uint16_t port = 0;
    asio::ip::tcp::socket tcp;
    asio::steady_timer timer;
  };

  bool answerBinding(std::size_t socket, const net::Endpoint& to, const TransactionId& id,
                     std::optional<ConnectResult> result) {
    StunMessage answer;
    answer.messageClass = StunClass::SuccessResponse;
    answer.method = kBindingMethod;
    answer.transactionId = id;
    answer.xorMappedAddress = to;                       // RFC 5389 §7.3.1
    answer.responseOrigin = sockets_[socket]->local();  // RFC 5780 §7.3
    answer.connectResult = result;
    answer.fingerprint = config_.fingerprint;
    if (!send(socket, encodeStun(answer), to)) return false;
    answers_.inc();
    return true;
  }

  void connectBack(std::size_t socket, const net::Endpoint& from, const TransactionId& id,
                   std::uint16_t port) {
    if (connectBacks_.count(id) > 0) return;  // a retransmission: the attempt is under way
    const net::Endpoint target{from.address, port};
    if (connectBacks_.size() >= config_.maxConnectBacks || target.address.is_multicast() ||
        target.address.is_unspecified()) {
      connectNotTried_.inc();
      answerBinding(socket, from, id, ConnectResult::NotTried);
      return;
    }
    auto attempt = std::make_shared<ConnectBack>(loop_.context());
    attempt->socket = socket;
    attempt->from = from;
    attempt->port = port;
    connectBacks_.emplace(id, attempt);
    std::weak_ptr<bool> alive = alive_;
    attempt->timer.expires_after(config_.connectBackTimeout);
    attempt->timer.async_wait([this, alive, id](const asio::error_code& ec) {
      if (!ec && !alive.expired()) endConnectBack(id, false);
    });
    attempt->tcp.async_connect(target.toTcp(), [this, alive, id](const asio::error_code& ec) {
      if (ec != asio::error::operation_aborted && !alive.expired()) endConnectBack(id, !ec);
    });
  }

  void endConnectBack(const TransactionId& id, bool accepted) {
    auto it = connectBacks_.find(id);
    if (it == connectBacks_.end()) return;
    auto attempt = std::move(it->second);
    connectBacks_.erase(it);
    asio::error_code ignored;
    attempt->tcp.close(ignored);  // the handshake was the test; nothing is said on it
    attempt->timer.cancel();
    (accepted ? connectAccepted_ : connectNotAccepted_).inc();
    logger_.debug("reachability: connect-back to {} port {}: {}",
                  net::addressToString(attempt->from.address), attempt->port,
                  accepted ? "accepted" : "not accepted");
    if (sockets_[attempt->socket]) {
      answerBinding(attempt->socket, attempt->from, id,
                    accepted ? ConnectResult::Accepted : ConnectResult::NotAccepted);
    }
  }

  void answerError(std::size_t socket, const net::Endpoint& to, const StunMessage& request,
                   std::uint16_t code, std::string reason, std::vector<std::uint16_t> unknown) {
    StunMessage answer;
    answer.messageClass = StunClass::ErrorResponse;
    answer.method = request.method;
    answer.transactionId = request.transactionId;
    answer.errorCode = StunErrorCode{code, std::move(reason)};
    answer.unknownAttributes = std::move(unknown);
    answer.fingerprint = config_.fingerprint;
    if (send(socket, encodeStun(answer), to)) errorAnswers_.inc();
  }

  bool send(std::size_t socket, const std::string& bytes, const net::Endpoint& to) {
    auto sent = sockets_[socket]->sendTo(bytes, to);
    if (!sent) {
      sendErrors_.inc();
      logger_.debug("reachability: {}", sent.error().detail);
      return false;
    }
    return true;
  }

  net::EventLoop& loop_;
  const TimerService& clock_;
  ReflectorConfig config_;
  Logger logger_;
  SourceRateLimiter limiter_;
  std::array<std::shared_ptr<DatagramSocket>, 2> sockets_;  // primary, alternate
  Counter& answers_;
  Counter& changePortAnswers_;
  Counter& errorAnswers_;
  Counter& refused_;
  Counter& malformed_;
  Counter& ignored_;
  Counter& sendErrors_;
  Counter& connectAccepted_;
  Counter& connectNotAccepted_;
  Counter& connectNotTried_;
  Gauge& sources_;
  std::map<TransactionId, std::shared_ptr<ConnectBack>> connectBacks_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // handlers outliving us see it gone
};

Reflector::Reflector(net::EventLoop& loop, const TimerService& clock, MetricsRegistry& metrics,
                     ReflectorConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(loop, clock, metrics, std::move(config), std::move(logger))) {}

Reflector::~Reflector() = default;

Result<void> Reflector::start() {
  return impl_->start();
}

void Reflector::stop() {
  impl_->stop();
}

net::Endpoint Reflector::primaryEndpoint() const {
  return impl_->endpoint(0);
}

net::Endpoint Reflector::alternateEndpoint() const {
  return impl_->endpoint(1);
}

}  // namespace p2psip::reachability
