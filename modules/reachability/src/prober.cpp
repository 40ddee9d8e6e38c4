// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/prober.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "datagram_socket.h"
#include "p2psip/reachability/stun_message.h"

namespace p2psip::reachability {

class Prober::Impl final : public DatagramSocket::Owner {
 public:
  Impl(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics, ProberConfig config,
       Logger logger)
      : loop_(loop),
        timers_(timers),
        config_(std::move(config)),
        logger_(std::move(logger)),
        probes_(metrics.counter("p2psip_reachability_probes_total")),
        sent_(metrics.counter("p2psip_reachability_probe_requests_sent_total")),
        retransmissions_(metrics.counter("p2psip_reachability_probe_retransmissions_total")),
        timeouts_(metrics.counter("p2psip_reachability_probe_timeouts_total")),
        ignored_(metrics.counter("p2psip_reachability_probe_responses_ignored_total")) {}

  ~Impl() { cancel(); }

  Result<void> start(Completion done) {
    if (state_ != State::Idle) {
      return makeError(ErrorCode::InvalidArgument, "reachability: a Prober runs one probe");
    }
    if (auto ok = validate(config_); !ok) return ok;
    auto socket = DatagramSocket::open(loop_.context(), config_.local, *this);
    if (!socket) return tl::unexpected(socket.error());
    socket_ = std::move(*socket);
    local_ = socket_->local();
    done_ = std::move(done);
    state_ = State::Running;
    probes_.inc();

    for (const auto& reflector : config_.reflectors) addTransaction(reflector, false);
    // RFC 5780 §4.4: the filtering test asks the first reflector to answer from its other port.
    addTransaction(config_.reflectors.front(), true);
    // Whether peers can open links to us: the first reflector tries (CONNECT-BACK).
    if (config_.connectBackPort) addTransaction(config_.reflectors.front(), false, true);
    socket_->start();
    for (std::size_t i = 0; i < transactions_.size(); ++i) transmit(i);
    return {};
  }

  void cancel() {
    for (auto& t : transactions_) {
      if (t.timer != kNoTimer) timers_.cancel(t.timer);
      t.timer = kNoTimer;
    }
    if (socket_) socket_->detach();
    socket_.reset();
    alive_.reset();  // a completion already posted finds the token gone and does nothing
    state_ = State::Finished;
  }

  net::Endpoint localEndpoint() const { return local_; }

  void onDatagram(DatagramSocket&, std::string_view datagram, const net::Endpoint& from) override {
    if (state_ != State::Running) return;
    auto response = decodeStun(datagram);
    if (!response || response->method != kBindingMethod ||
        (response->messageClass != StunClass::SuccessResponse &&
         response->messageClass != StunClass::ErrorResponse)) {
      ignored_.inc();
      return;
    }
    Transaction* t = find(response->transactionId);
    if (t == nullptr) {
      // A second answer to a retransmitted request, or not ours at all.
      ignored_.inc();
      return;
    }
    t->outcome.answeredFrom = from;
    if (response->messageClass == StunClass::SuccessResponse) {
      // RFC 5389 §7.3.3: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from a pre-XOR server. Without
      // either the transaction has failed: answered, but nothing learned.
      t->outcome.mapped =
          response->xorMappedAddress ? response->xorMappedAddress : response->mappedAddress;
    } else {
      t->outcome.errorCode = response->errorCode->code;
    }
    if (t->outcome.connectBack && response->connectResult &&
        *response->connectResult != ConnectResult::NotTried) {
      t->outcome.connectAccepted = *response->connectResult == ConnectResult::Accepted;
    }
    finish(*t);
    completeIfDone();
  }

 private:
  struct Transaction {
    TransactionId id{};
    BindingOutcome outcome;
    std::string request;  // retransmissions resend these bytes (RFC 5389 §7.2.1)
    Duration rto{};
    TimePoint started{};
    TimerId timer = kNoTimer;
    bool done = false;
  };
  enum class State { Idle, Running, Finished };

  void addTransaction(const net::Endpoint& reflector, bool changePort, bool connectBack = false) {
    Transaction t;
    // RFC 5389 §6: uniformly random, so an off-path attacker cannot forge an answer.
    for (std::size_t i = 0; i < t.id.size(); i += 4) {
      const std::uint32_t r = random_();
      for (std::size_t k = 0; k < 4; ++k) t.id[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
    }
    t.outcome.reflector = reflector;
    t.outcome.changePort = changePort;
    t.outcome.connectBack = connectBack;
    StunMessage request;
    request.messageClass = StunClass::Request;
    request.method = kBindingMethod;
    request.transactionId = t.id;
    if (changePort) request.changeRequest = ChangeRequest{false, true};
    if (connectBack) request.connectBackPort = config_.connectBackPort;
    request.fingerprint = config_.fingerprint;
    t.request = encodeStun(request);
    t.rto = config_.initialRto;
    t.started = timers_.now();
    transactions_.push_back(std::move(t));
  }

  Transaction* find(const TransactionId& id) {
    for (auto& t : transactions_) {
      if (t.id == id && !t.done) return &t;
    }
    return nullptr;
  }

  // Sends (again) and arms the timer for the next step of RFC 5389 §7.2.1: after transmission
  // k < Rc wait RTO·2^(k-1); after the Rc-th, wait Rm·RTO and give up.
  void transmit(std::size_t index) {
    Transaction& t = transactions_[index];
    ++t.outcome.transmissions;
    sent_.inc();
    if (t.outcome.transmissions > 1) retransmissions_.inc();
    if (auto ok = socket_->sendTo(t.request, t.outcome.reflector); !ok) {
      // ICMP errors and full buffers are transient as far as we know: keep to the schedule.
      logger_.debug("reachability: {}", ok.error().detail);
    }
    Duration wait = config_.initialRto * config_.finalWaitFactor;
    if (t.outcome.transmissions < config_.maxTransmissions) {
      wait = t.rto;
      t.rto *= 2;
    }
    t.timer = timers_.schedule(wait, [this, index] { onTimer(index); });
  }

  void onTimer(std::size_t index) {
    Transaction& t = transactions_[index];
    t.timer = kNoTimer;
    if (t.done || state_ != State::Running) return;
    if (t.outcome.transmissions < config_.maxTransmissions) {
      transmit(index);
      return;
    }
    // The reflector answers a connect-back only when its TCP attempt ends (its timeout, when
    // our NAT drops the SYN): wait for that rather than for the usual schedule.
    if (t.outcome.connectBack) {
      const Duration left = t.started + config_.connectBackWait - timers_.now();
      if (left > Duration::zero()) {
        t.timer = timers_.schedule(left, [this, index] { onTimer(index); });
        return;
      }
    }
    timeouts_.inc();
    finish(t);
    completeIfDone();
  }

  void finish(Transaction& t) {
    t.done = true;
    if (t.timer != kNoTimer) timers_.cancel(t.timer);
    t.timer = kNoTimer;
  }

  void completeIfDone() {
    for (const auto& t : transactions_) {
      if (!t.done) return;
    }
    state_ = State::Finished;
    if (socket_) socket_->detach();
    socket_.reset();
    std::vector<BindingOutcome> outcomes;
    outcomes.reserve(transactions_.size());
    for (const auto& t : transactions_) outcomes.push_back(t.outcome);
    Reachability result = classify(local_, std::move(outcomes));
    logger_.info("reachability: {} from {} ({} observed, mapping {}, filtering {})",
                 toString(result.natClass), local_.toString(), result.observed.size(),
                 toString(result.mapping), toString(result.filtering));
    // Posted, so the callback never runs inside a handler of ours and may destroy the Prober.
    loop_.post(
        [weak = std::weak_ptr<bool>(alive_), done = std::move(done_), result = std::move(result)] {
          if (weak.lock() && done) done(result);
        });
  }

  net::EventLoop& loop_;
  TimerService& timers_;
  ProberConfig config_;
  Logger logger_;
  Counter& probes_;
  Counter& sent_;
  Counter& retransmissions_;
  Counter& timeouts_;
  Counter& ignored_;
  std::random_device random_;
  std::shared_ptr<DatagramSocket> socket_;
  net::Endpoint local_;
  std::vector<Transaction> transactions_;
  Completion done_;
  State state_ = State::Idle;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Prober::Prober(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics,
               ProberConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(loop, timers, metrics, std::move(config), std::move(logger))) {}

Prober::~Prober() = default;

Result<void> Prober::start(Completion done) {
  return impl_->start(std::move(done));
}

void Prober::cancel() {
  impl_->cancel();
}

net::Endpoint Prober::localEndpoint() const {
  return impl_->localEndpoint();
}

}  // namespace p2psip::reachability
