// SPDX-License-Identifier: Apache-2.0
#include "p2psip/dht/open_dht_lookup_service.h"

#include <opendht/dhtrunner.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include <asio/steady_timer.hpp>

#include "key_view.h"
#include "lifetime_class.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/event_loop.h"
#include "value_record.h"

namespace p2psip::dht {
namespace {

// Inside p2psip::dht, `dht::` names this namespace, so OpenDHT gets a name of its own.
namespace opendht = ::dht;

// Re-announcements wait while this many OpenDHT puts are unanswered (announceSome()).
constexpr std::size_t kMaxAnnouncing = 2048;
using DhtValues = std::vector<std::shared_ptr<opendht::Value>>;
using DhtNodes = std::vector<std::shared_ptr<opendht::Node>>;

// Metrics of this module, registered once (conventions §3.4 item 11).
struct DhtMetrics {
  explicit DhtMetrics(MetricsRegistry& r)
      : puts(r.counter("p2psip_dht_puts_total")),
        gets(r.counter("p2psip_dht_gets_total")),
        listens(r.counter("p2psip_dht_listens_total")),
        removes(r.counter("p2psip_dht_removes_total")),
        failures(r.counter("p2psip_dht_failures_total")),
        valuesRefused(r.counter("p2psip_dht_values_refused_total")),
        reannounced(r.counter("p2psip_dht_values_reannounced_total")) {}

  Counter& puts;
  Counter& gets;
  Counter& listens;
  Counter& removes;
  Counter& failures;       // puts, removes and gets that reported an error
  Counter& valuesRefused;  // from the network: oversize, malformed or of a foreign type
  Counter& reannounced;    // values put while alone, announced again on connecting
};

// Everything OpenDHT's thread needs to judge values: a copy of the limit and an atomic counter,
// never the service's state.
struct ValueFilter {
  std::size_t maxDataBytes;
  Counter* refused;

  // The records among `values`; refused ones are counted, retired (empty) ones skipped.
  std::vector<ValueRecord> decode(const DhtValues& values) const {
    std::vector<ValueRecord> records;
    records.reserve(values.size());
    for (const auto& value : values) {
      if (value->data.empty() && isLifetimeClass(value->type)) continue;
      if (auto record = decodeOne(*value)) records.push_back(std::move(*record));
    }
    return records;
  }

  // Storage policy for our value types on this node as a storing node: records within the limit,
  // and retired (empty) values, which blank an earlier version.
  bool acceptsForStorage(const opendht::Value& value) const {
    return value.data.empty() || decodeOne(value).has_value();
  }

 private:
  std::optional<ValueRecord> decodeOne(const opendht::Value& value) const {
    if (!isLifetimeClass(value.type)) {
      refused->inc();
      return std::nullopt;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(value.data.data()),
                                 value.data.size());
    auto record = decodeValueRecord(bytes, maxDataBytes);
    if (!record) {
      refused->inc();
      return std::nullopt;
    }
    return std::move(*record);
  }
};

// Nodes only talk to nodes with the same network id, so two overlays never merge, even when a
// node of one is given a node of the other to bootstrap from.
opendht::NetId networkIdOf(const std::string& name) {
  const opendht::InfoHash hash = opendht::InfoHash::get("p2psip overlay " + name);
  opendht::NetId id = 0;
  for (std::size_t i = 0; i < sizeof(id); ++i) id = (id << 8) | hash[i];
  return id == 0 ? 1 : id;  // 0 is OpenDHT's public network
}

opendht::SockAddr toSockAddr(const net::Endpoint& endpoint) {
  const asio::ip::udp::endpoint udp = endpoint.toUdp();
  return opendht::SockAddr(udp.data(), static_cast<socklen_t>(udp.size()));
}

// OpenDHT's status over both address families: the better of the two.
opendht::NodeStatus combined(opendht::NodeStatus v4, opendht::NodeStatus v6) {
  return std::max(v4, v6);  // Disconnected < Connecting < Connected
}

}  // namespace

class OpenDhtLookupService::Impl {
 public:
  Impl(const DhtConfig& config, net::EventLoop& loop, MetricsRegistry& metrics, Logger logger)
      : config_(config),
        loop_(loop),
        metrics_(metrics),
        logger_(std::move(logger)),
        timer_(loop.context()),
        reannounceTimer_(loop.context()),
        random_(std::random_device{}()) {}
  ~Impl() {
    shutdown(false);
    *alive_ = false;  // drops whatever OpenDHT posted before join()
  }

  Result<void> start();
  std::uint16_t boundPort() const { return boundPort_; }
  void stop() { shutdown(true); }

  void put(const LookupKey& key, StoredValue value, Duration lifetime, PutCallback done);
  void get(const LookupKey& key, GetCallback done);
  ListenToken listen(const LookupKey& key, ListenCallback onChange);
  void cancelListen(ListenToken token);
  void remove(const LookupKey& key, std::uint64_t id, PutCallback done);
  LookupServiceStats stats() const;
  bool connected() const { return runner_ && !aloneForPuts(); }
  void watchConnected(std::function<void(bool)> observer) {
    connectedObservers_.push_back(std::move(observer));
  }

 private:
  // The only handle OpenDHT's thread gets on the service: it queues a task for the loop, which
  // runs only if the service still exists by then and has not been stopped since (an answer from
  // a runner that is gone means nothing any more). `alive` is read and written on the loop only.
  class Inbox {
   public:
    Inbox(net::EventLoop& loop, std::shared_ptr<bool> alive, Impl& impl, std::uint64_t run)
        : loop_(&loop), alive_(std::move(alive)), impl_(&impl), run_(run) {}
    template <typename Task>
    void post(Task&& task) const {
      loop_->post(
          [alive = alive_, impl = impl_, run = run_, task = std::forward<Task>(task)]() mutable {
            if (*alive && impl->run_ == run) task(*impl);
          });
    }

   private:
    net::EventLoop* loop_;
    std::shared_ptr<bool> alive_;
    Impl* impl_;
    std::uint64_t run_;
  };

  struct PendingPut {
    std::string key;
    PutCallback done;
  };
  struct PendingGet {
    std::string key;
    GetCallback done;
    std::vector<ValueRecord> records;            // what the nodes answered so far
    std::shared_ptr<asio::steady_timer> settle;  // armed by the first values (DhtConfig::getSettle)
    std::size_t searches = 1;                    // replica searches still running
    bool ok = false;                             // any search succeeded
  };
  // This node's current version of a value: announced (handed to OpenDHT), so that the next put
  // or remove can blank it, or held here while no other node is reachable (see put()).
  struct Publication {
    opendht::Value::Id dhtId = 0;
    TimePoint expiresAt{};
    // What was (or is to be) announced: announceAgain() hands it to the overlay once other nodes
    // are reachable.
    std::string bytes;
    std::uint16_t typeId = 0;
    // The announcement round (announceRound_) in which this version was last handed to OpenDHT;
    // 0: never, it is held on this node only.
    std::uint32_t announcedIn = 0;
    bool announced() const { return announcedIn != 0; }
  };
  using PublicationKey = std::pair<std::string, std::uint64_t>;  // key text, writer's id
  struct Subscription {
    std::string key;
    std::vector<opendht::InfoHash> hashes;  // one listen per replica, all feeding `view`
    ListenCallback onChange;
    std::vector<std::shared_future<std::size_t>> dhtTokens;  // empty while not listening
    KeyView view;
  };

  Inbox inbox() { return Inbox(loop_, alive_, *this, run_); }
  ValueFilter filter() const { return ValueFilter{config_.maxValueBytes, &metrics_.valuesRefused}; }
  const LifetimeClass& removedClass() const {
    return lifetimeClassFor(config_.removedLifetime, config_.maxLifetime);
  }
  std::uint64_t nextVersion();
  opendht::Value::Id newDhtId() {
    return std::uniform_int_distribution<opendht::Value::Id>(1)(random_);  // 0 is "no id"
  }

  void registerValueTypes();
  std::vector<opendht::InfoHash> replicaHashes(const std::string& keyText) const;
  void announce(const opendht::InfoHash& hash, const std::string& bytes, std::uint16_t typeId,
                opendht::Value::Id dhtId, std::string key, PutCallback done);
  void succeedLater(PutCallback done);
  bool aloneForPuts() const { return status_ != opendht::NodeStatus::Connected; }
  std::vector<ValueRecord> heldRecords(const std::string& keyText) const;
  void reportHeld(ListenToken token);
  void retire(const opendht::InfoHash& hash, opendht::Value::Id dhtId);
  void listenOnDht(ListenToken token, Subscription& subscription);
  void failLater(std::string key, PutCallback done, ErrorCode code, std::string detail);

  // Handlers of OpenDHT's answers, on the loop.
  void onStatus(opendht::NodeStatus status);
  void announceAgain(bool everything);
  void announceSome();
  void scheduleFollowUp(Duration delay);
  void onPutDone(std::uint64_t op, bool ok);
  void onGetValues(std::uint64_t op, std::vector<ValueRecord> records);
  void onGetDone(std::uint64_t op, bool ok);
  void answerGet(std::uint64_t op);
  void onListenValues(ListenToken token, const std::vector<ValueRecord>& records, bool expired);
  void echoLocally(const std::string& key, const ValueRecord& record);
  // Calls the subscriber; false if the service was destroyed by the callback.
  bool report(ListenToken token, KeyView::Changes changes);

  void scheduleMaintenance();
  void maintain();
  void shutdown(bool reportPending);

  DhtConfig config_;
  net::EventLoop& loop_;
  DhtMetrics metrics_;
  Logger logger_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t run_ = 0;  // changes at every stop, so that late answers of the runner are dropped
  std::unique_ptr<opendht::DhtRunner> runner_;
  std::vector<opendht::SockAddr> bootstrap_;
  asio::steady_timer timer_;  // bootstrap retry and publication pruning
  // Follow-up announcements after connecting (see onStatus()), and how many are left.
  asio::steady_timer reannounceTimer_;
  int followUps_ = 0;
  // announceAgain() works through publications_ a slice per loop turn, from this key on, so that a
  // peer holding a million records keeps answering SIP meanwhile.
  std::optional<PublicationKey> announceFrom_;
  // Counts rounds of announceAgain(). A round skips what put() announced during it: announcing a
  // value whose put is still under way would make OpenDHT drop that put's callback.
  std::uint32_t announceRound_ = 1;
  bool announceEverything_ = false;  // this round: every live value, not only the held ones
  bool announcePaused_ = false;      // the round waits for OpenDHT to answer puts (announceSome())
  bool everConnected_ = false;
  std::size_t announcedAgain_ = 0;
  std::mt19937_64 random_;
  // OpenDHT's status as last posted: Connected (a good node is known), Connecting (nodes are
  // known, none confirmed: OpenDHT holds queued operations meanwhile) or Disconnected (none).
  opendht::NodeStatus status_ = opendht::NodeStatus::Disconnected;
  std::uint16_t boundPort_ = 0;
  std::uint64_t lastVersion_ = 0;
  std::uint64_t nextOp_ = 1;
  ListenToken nextListenToken_ = 1;
  std::unordered_map<std::uint64_t, PendingPut> pendingPuts_;
  std::unordered_map<std::uint64_t, PendingGet> pendingGets_;
  std::map<PublicationKey, Publication> publications_;
  std::map<ListenToken, Subscription> subscriptions_;
  std::multimap<std::string, ListenToken> listenersByKey_;  // subscriptions_, by key text
  std::vector<std::function<void(bool)>> connectedObservers_;
};

Result<void> OpenDhtLookupService::Impl::start() {
  if (runner_) return {};
  if (auto valid = validate(config_); !valid) return valid;

  opendht::DhtRunner::Config dhtConfig;
  dhtConfig.threaded = true;
  dhtConfig.dht_config.node_config.network = networkIdOf(config_.network);
  // A fresh identity per run and no OpenDHT crypto identity: the overlay signs its records.
  dhtConfig.dht_config.node_config.node_id = opendht::InfoHash::getRandom();
  dhtConfig.dht_config.node_config.max_store_size = static_cast<ssize_t>(
      std::min<std::size_t>(config_.maxStoreBytes, std::numeric_limits<ssize_t>::max()));
  dhtConfig.dht_config.node_config.max_req_per_sec =
      static_cast<ssize_t>(config_.maxRequestsPerSecond);
  dhtConfig.dht_config.node_config.max_peer_req_per_sec =
      static_cast<ssize_t>(config_.maxPeerRequestsPerSecond);
  if (config_.bindAddress.empty()) {
    dhtConfig.bind4 = toSockAddr({asio::ip::address_v4::any(), config_.port});
    dhtConfig.bind6 = toSockAddr({asio::ip::address_v6::any(), config_.port});
  } else {
    const auto address = asio::ip::make_address(config_.bindAddress);  // validated above
    (address.is_v4() ? dhtConfig.bind4 : dhtConfig.bind6) = toSockAddr({address, config_.port});
  }
  bootstrap_.clear();
  for (const std::string& entry : config_.bootstrap) {
    bootstrap_.push_back(toSockAddr(*net::Endpoint::parse(entry)));  // validated above
  }

  opendht::DhtRunner::Context context;
  context.statusChangedCallback = [inbox = inbox()](opendht::NodeStatus v4,
                                                    opendht::NodeStatus v6) {
    inbox.post([status = combined(v4, v6)](Impl& self) { self.onStatus(status); });
  };
  auto runner = std::make_unique<opendht::DhtRunner>();
  try {
    runner->run(dhtConfig, std::move(context));
  } catch (const std::exception& e) {
    return makeError(ErrorCode::TransportError,
                     "dht: cannot bind UDP port " + std::to_string(config_.port) + ": " + e.what());
  }
  runner_ = std::move(runner);
  // Only possible once running. Until then (microseconds, before any bootstrap) a value another
  // node sends here would get OpenDHT's default type: stored 10 minutes, never edited.
  registerValueTypes();
  boundPort_ = runner_->getBoundPort(AF_INET);
  if (boundPort_ == 0) boundPort_ = runner_->getBoundPort(AF_INET6);

  for (auto& [token, subscription] : subscriptions_) listenOnDht(token, subscription);
  if (!bootstrap_.empty()) runner_->bootstrap(bootstrap_);
  scheduleMaintenance();
  logger_.info("dht: node on UDP port {}, network \"{}\", {} bootstrap nodes", boundPort_,
               config_.network, bootstrap_.size());
  return {};
}

std::vector<opendht::InfoHash> OpenDhtLookupService::Impl::replicaHashes(
    const std::string& keyText) const {
  // Replica r > 0 of a key lives at the hash of "<key>#replica<r>": independent points of the key
  // space, so the nodes storing one replica are unrelated to those storing another.
  std::vector<opendht::InfoHash> hashes{opendht::InfoHash::get(keyText)};
  for (std::size_t r = 1; r < config_.replicas; ++r) {
    hashes.push_back(opendht::InfoHash::get(keyText + "#replica" + std::to_string(r)));
  }
  return hashes;
}

void OpenDhtLookupService::Impl::registerValueTypes() {
  // Storing nodes apply these policies (on OpenDHT's thread) to what others ask them to store.
  // Edits are allowed only to blank a version (retire()); OpenDHT's default refuses all edits.
  const ValueFilter storable = filter();
  auto storePolicy = [storable](opendht::InfoHash, std::shared_ptr<opendht::Value>& value,
                                const opendht::InfoHash&, const opendht::SockAddr&) {
    return storable.acceptsForStorage(*value);
  };
  auto editPolicy = [](opendht::InfoHash, const std::shared_ptr<opendht::Value>&,
                       std::shared_ptr<opendht::Value>& value, const opendht::InfoHash&,
                       const opendht::SockAddr&) { return value->data.empty(); };
  for (const LifetimeClass& cls : kLifetimeClasses) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(cls.lifetime).count();
    runner_->registerType(opendht::ValueType(cls.typeId, "p2psip-" + std::to_string(seconds) + "s",
                                             cls.lifetime, storePolicy, editPolicy));
  }
}

// Versions must keep growing across restarts of this node (what it writes after a restart must
// replace what it wrote before), so they come from the wall clock, in milliseconds.
std::uint64_t OpenDhtLookupService::Impl::nextVersion() {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  lastVersion_ =
      std::max(lastVersion_ + 1, static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0)));
  return lastVersion_;
}

void OpenDhtLookupService::Impl::put(const LookupKey& key, StoredValue value, Duration lifetime,
                                     PutCallback done) {
  metrics_.puts.inc();
  std::string keyText = key.toString();
  if (value.data.size() > config_.maxValueBytes) {
    failLater(std::move(keyText), std::move(done), ErrorCode::LimitExceeded,
              "dht: value of " + std::to_string(value.data.size()) +
                  " bytes is over the limit of " + std::to_string(config_.maxValueBytes));
    return;
  }
  if (!runner_) {
    failLater(std::move(keyText), std::move(done), ErrorCode::Unavailable,
              "dht: the DHT node is not running");
    return;
  }
  const ValueRecord record{ValueRecord::Kind::Value, value.id, nextVersion(),
                           std::move(value.data)};
  const LifetimeClass& cls = lifetimeClassFor(lifetime, config_.maxLifetime);
  const opendht::Value::Id dhtId = newDhtId();
  logger_.debug("dht: put {} id {:016x} version {} ({} bytes, {} s)", keyText, record.id,
                record.version, record.data.size(),
                std::chrono::duration_cast<std::chrono::seconds>(cls.lifetime).count());

  Publication& publication = publications_[{keyText, record.id}];
  const Publication previous =
      std::exchange(publication, Publication{dhtId, Clock::now() + cls.lifetime, encode(record),
                                             cls.typeId, aloneForPuts() ? 0 : announceRound_});
  std::vector<opendht::InfoHash> hashes;
  if (publication.announced() || previous.announced()) hashes = replicaHashes(keyText);
  if (publication.announced()) {
    // The primary key reports to the caller; the replicas are announced alongside.
    for (std::size_t r = 0; r < hashes.size(); ++r) {
      announce(hashes[r], publication.bytes, cls.typeId, dhtId, keyText,
               r == 0 ? std::move(done) : PutCallback{});
    }
  } else {
    // No other node is reachable, so no other node could store it: OpenDHT would only keep a copy
    // per replica key here, plus a search per replica key that has nowhere to go (its memory and
    // its search limit then bound how many users a lone peer serves). Held here instead; get()
    // and listen() read it, and announceAgain() hands it over once the node is connected. A node
    // alone stores its own values: that is success (lookup_service.h).
    succeedLater(std::move(done));
  }
  // The new version first, then the old one blanked, so readers never see neither.
  if (previous.announced()) {
    for (const auto& h : hashes) retire(h, previous.dhtId);
  }
  echoLocally(keyText, record);
}

void OpenDhtLookupService::Impl::remove(const LookupKey& key, std::uint64_t id, PutCallback done) {
  metrics_.removes.inc();
  std::string keyText = key.toString();
  if (!runner_) {
    failLater(std::move(keyText), std::move(done), ErrorCode::Unavailable,
              "dht: the DHT node is not running");
    return;
  }
  const ValueRecord removal{ValueRecord::Kind::Removal, id, nextVersion(), {}};
  logger_.debug("dht: remove {} id {:016x} version {}", keyText, id, removal.version);
  auto it = publications_.find({keyText, id});
  if (it != publications_.end() && !it->second.announced()) {
    // Held here only: no other node ever saw this version, so there is nothing to withdraw from
    // them. (An earlier announced version was blanked when this one replaced it.)
    publications_.erase(it);
    succeedLater(std::move(done));
    echoLocally(keyText, removal);
    return;
  }

  // The removal tells readers and listeners at once; blanking the announced version keeps it from
  // coming back once the removal itself expires.
  const std::vector<opendht::InfoHash> hashes = replicaHashes(keyText);
  const std::string bytes = encode(removal);
  const opendht::Value::Id removalId = newDhtId();
  for (std::size_t r = 0; r < hashes.size(); ++r) {
    announce(hashes[r], bytes, removedClass().typeId, removalId, keyText,
             r == 0 ? std::move(done) : PutCallback{});
  }
  if (it != publications_.end()) {
    for (const auto& h : hashes) {
      runner_->cancelPut(h, it->second.dhtId);
      retire(h, it->second.dhtId);
    }
    publications_.erase(it);
  }
  echoLocally(keyText, removal);
}

void OpenDhtLookupService::Impl::announce(const opendht::InfoHash& hash, const std::string& bytes,
                                          std::uint16_t typeId, opendht::Value::Id dhtId,
                                          std::string key, PutCallback done) {
  opendht::Value value(typeId, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                       dhtId);
  const std::uint64_t op = nextOp_++;
  pendingPuts_.emplace(op, PendingPut{std::move(key), std::move(done)});
  // Not permanent: OpenDHT announces it for one lifetime; the overlay refreshes what it keeps.
  runner_->put(hash, std::move(value),
               opendht::DoneCallback([inbox = inbox(), op](bool ok, const DhtNodes&) {
                 inbox.post([op, ok](Impl& self) { self.onPutDone(op, ok); });
               }));
}

void OpenDhtLookupService::Impl::retire(const opendht::InfoHash& hash, opendht::Value::Id dhtId) {
  // Same OpenDHT id, empty data: storing nodes replace the version (our edit policy) and drop the
  // blank after the short removed lifetime.
  runner_->put(hash, opendht::Value(removedClass().typeId, opendht::Blob{}, dhtId),
               opendht::DoneCallback{});
}

void OpenDhtLookupService::Impl::succeedLater(PutCallback done) {
  if (!done) return;
  inbox().post([done = std::move(done)](Impl&) { done({}); });  // never inside the call
}

std::vector<ValueRecord> OpenDhtLookupService::Impl::heldRecords(const std::string& keyText) const {
  std::vector<ValueRecord> records;
  const TimePoint now = Clock::now();
  for (auto it = publications_.lower_bound({keyText, 0});
       it != publications_.end() && it->first.first == keyText; ++it) {
    const Publication& publication = it->second;
    if (publication.announced() || publication.expiresAt <= now) continue;
    if (auto record = decodeValueRecord(publication.bytes, config_.maxValueBytes)) {
      records.push_back(std::move(*record));
    }
  }
  return records;
}

void OpenDhtLookupService::Impl::failLater(std::string key, PutCallback done, ErrorCode code,
                                           std::string detail) {
  metrics_.failures.inc();
  logger_.debug("dht: {}: {}", key, detail);
  // Never inside the call (lookup_service.h).
  inbox().post([done = std::move(done), code, detail = std::move(detail)](Impl&) {
    if (done) done(makeError(code, detail));
  });
}

void OpenDhtLookupService::Impl::onPutDone(std::uint64_t op, bool ok) {
  auto it = pendingPuts_.find(op);
  if (it == pendingPuts_.end()) return;
  PendingPut pending = std::move(it->second);
  pendingPuts_.erase(it);
  if (announcePaused_ && pendingPuts_.size() < kMaxAnnouncing / 2) {
    announcePaused_ = false;
    inbox().post([](Impl& self) { self.announceSome(); });
  }
  // OpenDHT reports failure when no other node took the value. A node that knows no good node is
  // alone (a new overlay, or cut off): it stored the value itself, which is success (the contract).
  if (!ok && status_ == opendht::NodeStatus::Connected) {
    metrics_.failures.inc();
    logger_.debug("dht: put {}: no DHT node stored the value", pending.key);
    if (pending.done)
      pending.done(makeError(ErrorCode::Unavailable, "dht: no DHT node stored " + pending.key));
    return;
  }
  if (pending.done) pending.done({});
}

void OpenDhtLookupService::Impl::get(const LookupKey& key, GetCallback done) {
  metrics_.gets.inc();
  std::string keyText = key.toString();
  if (!runner_) {
    metrics_.failures.inc();
    inbox().post([done = std::move(done)](Impl&) {
      done(makeError(ErrorCode::Unavailable, "dht: the DHT node is not running"));
    });
    return;
  }
  logger_.debug("dht: get {}", keyText);
  const std::uint64_t op = nextOp_++;
  const std::vector<opendht::InfoHash> hashes = replicaHashes(keyText);
  // What this node holds for itself unannounced is part of the answer: OpenDHT does not have it.
  pendingGets_.emplace(
      op, PendingGet{keyText, std::move(done), heldRecords(keyText), nullptr, hashes.size()});
  // Values are handed to the loop batch by batch as nodes answer; the loop answers the caller once
  // the search ends, or `getSettle` after the first values, whichever is first: a search waits
  // about a second on every dead node it asked (OpenDHT's request timeout), which a caller
  // holding a ringing phone should not.
  // One search per replica key, in parallel: each walks towards another part of the key space,
  // so dead nodes near one replica rarely delay them all, and the first values answer.
  for (const auto& hash : hashes) {
    runner_->get(
        hash,
        opendht::GetCallback([inbox = inbox(), op, filter = filter()](const DhtValues& values) {
          auto records = filter.decode(values);
          if (!records.empty()) {
            inbox.post([op, records = std::move(records)](Impl& self) mutable {
              self.onGetValues(op, std::move(records));
            });
          }
          return true;
        }),
        opendht::DoneCallback([inbox = inbox(), op](bool ok, const DhtNodes&) {
          inbox.post([op, ok](Impl& self) { self.onGetDone(op, ok); });
        }));
  }
}

void OpenDhtLookupService::Impl::onGetValues(std::uint64_t op, std::vector<ValueRecord> records) {
  auto it = pendingGets_.find(op);
  if (it == pendingGets_.end()) return;  // answered already (settled), or stopped
  PendingGet& pending = it->second;
  std::move(records.begin(), records.end(), std::back_inserter(pending.records));
  if (pending.settle || config_.getSettle <= Duration::zero()) return;
  pending.settle = std::make_shared<asio::steady_timer>(loop_.context());
  pending.settle->expires_after(config_.getSettle);
  pending.settle->async_wait([inbox = inbox(), op](const asio::error_code& error) {
    if (!error) inbox.post([op](Impl& self) { self.answerGet(op); });
  });
}

void OpenDhtLookupService::Impl::onGetDone(std::uint64_t op, bool ok) {
  auto it = pendingGets_.find(op);
  if (it == pendingGets_.end()) return;
  it->second.ok = it->second.ok || ok;
  if (--it->second.searches > 0) return;  // another replica's search may still find values
  ok = it->second.ok;
  // As for put: a node alone answers from its own storage, which is all there is.
  if (!ok && it->second.records.empty() && status_ == opendht::NodeStatus::Connected) {
    PendingGet pending = std::move(it->second);
    pendingGets_.erase(it);
    if (pending.settle) pending.settle->cancel();
    metrics_.failures.inc();
    logger_.debug("dht: get {}: the search failed", pending.key);
    pending.done(makeError(ErrorCode::Unavailable, "dht: no DHT node answered for " + pending.key));
    return;
  }
  answerGet(op);
}

void OpenDhtLookupService::Impl::answerGet(std::uint64_t op) {
  auto it = pendingGets_.find(op);
  if (it == pendingGets_.end()) return;
  PendingGet pending = std::move(it->second);
  pendingGets_.erase(it);
  if (pending.settle) pending.settle->cancel();
  std::vector<StoredValue> values = latestValues(pending.records);
  logger_.debug("dht: get {}: {} values", pending.key, values.size());
  pending.done(std::move(values));
}

ListenToken OpenDhtLookupService::Impl::listen(const LookupKey& key, ListenCallback onChange) {
  metrics_.listens.inc();
  const ListenToken token = nextListenToken_++;
  std::string keyText = key.toString();
  logger_.debug("dht: listen {} (token {})", keyText, token);
  std::vector<opendht::InfoHash> hashes = replicaHashes(keyText);
  listenersByKey_.emplace(keyText, token);
  Subscription& subscription =
      subscriptions_
          .emplace(token,
                   Subscription{std::move(keyText), std::move(hashes), std::move(onChange), {}, {}})
          .first->second;
  if (runner_) listenOnDht(token, subscription);  // otherwise start() does
  // OpenDHT reports what it stores; what this node holds unannounced, it reports itself.
  inbox().post([token](Impl& self) { self.reportHeld(token); });
  return token;
}

void OpenDhtLookupService::Impl::reportHeld(ListenToken token) {
  auto it = subscriptions_.find(token);
  if (it == subscriptions_.end()) return;
  std::vector<ValueRecord> held = heldRecords(it->second.key);
  if (!held.empty()) report(token, it->second.view.apply(held, false));
}

void OpenDhtLookupService::Impl::listenOnDht(ListenToken token, Subscription& subscription) {
  auto onValues = [inbox = inbox(), token, filter = filter()](const DhtValues& values,
                                                              bool expired) {
    auto records = filter.decode(values);
    if (!records.empty()) {
      inbox.post([token, expired, records = std::move(records)](Impl& self) {
        self.onListenValues(token, records, expired);
      });
    }
    return true;  // cancelled through cancelListen(), never from here
  };
  subscription.dhtTokens.clear();
  for (const auto& hash : subscription.hashes) {
    subscription.dhtTokens.push_back(
        runner_->listen(hash, opendht::ValueCallback(onValues)).share());
  }
}

void OpenDhtLookupService::Impl::cancelListen(ListenToken token) {
  auto it = subscriptions_.find(token);
  if (it == subscriptions_.end()) return;
  logger_.debug("dht: cancel listen {} (token {})", it->second.key, token);
  for (auto [k, end] = listenersByKey_.equal_range(it->second.key); k != end; ++k) {
    if (k->second == token) {
      listenersByKey_.erase(k);
      break;
    }
  }
  // OpenDHT resolves its token on its own thread, after the listen; it queues this behind it.
  if (runner_) {
    for (std::size_t r = 0; r < it->second.dhtTokens.size(); ++r) {
      if (it->second.dhtTokens[r].valid())
        runner_->cancelListen(it->second.hashes[r], it->second.dhtTokens[r]);
    }
  }
  subscriptions_.erase(it);
}

void OpenDhtLookupService::Impl::onListenValues(ListenToken token,
                                                const std::vector<ValueRecord>& records,
                                                bool expired) {
  auto it = subscriptions_.find(token);
  if (it == subscriptions_.end()) return;  // cancelled while OpenDHT's answer was on its way
  report(token, it->second.view.apply(records, expired));
}

// OpenDHT 2.4 does not tell this node's own listeners about its own later puts when it is alone
// (only what was stored when the listen began), so they learn them from here. The same record
// coming back through OpenDHT is then a duplicate version, which KeyView ignores.
void OpenDhtLookupService::Impl::echoLocally(const std::string& key, const ValueRecord& record) {
  if (listenersByKey_.find(key) == listenersByKey_.end()) return;  // nobody here listens to it
  inbox().post([key, record](Impl& self) {
    std::vector<ListenToken> tokens;
    for (auto [it, end] = self.listenersByKey_.equal_range(key); it != end; ++it) {
      tokens.push_back(it->second);
    }
    for (const ListenToken token : tokens) {
      auto it = self.subscriptions_.find(token);
      if (it == self.subscriptions_.end()) continue;
      if (!self.report(token, it->second.view.apply({record}, false))) return;
    }
  });
}

bool OpenDhtLookupService::Impl::report(ListenToken token, KeyView::Changes changes) {
  const std::shared_ptr<bool> alive = alive_;
  for (const bool expired : {true, false}) {
    const std::vector<StoredValue>& values = expired ? changes.gone : changes.appeared;
    if (values.empty()) continue;
    auto it = subscriptions_.find(token);
    if (it == subscriptions_.end()) return true;  // cancelled by the previous call
    // A copy: the callback may cancel its own subscription.
    const ListenCallback onChange = it->second.onChange;
    onChange(values, expired);
    if (!*alive) return false;
  }
  return true;
}

void OpenDhtLookupService::Impl::onStatus(opendht::NodeStatus status) {
  if (status == status_) return;
  const bool wasConnected = status_ == opendht::NodeStatus::Connected;
  status_ = status;
  if (wasConnected != (status == opendht::NodeStatus::Connected)) {
    // Each in a task of its own, never inside a call (lookup_service.h).
    for (const auto& observer : connectedObservers_) {
      inbox().post([observer, now = !wasConnected](Impl&) { observer(now); });
    }
  }
  if (status == opendht::NodeStatus::Connected) {
    logger_.info("dht: connected to the overlay");
    if (!wasConnected && !everConnected_) {
      everConnected_ = true;
      announceAgain(true);
      // The nodes closest to a key keep changing while an overlay forms (all its peers starting
      // together): the first announcement may land on nodes that are no longer the closest a few
      // seconds later, and OpenDHT would not move it before the value's next refresh. Announce
      // again twice while the routing table settles.
      followUps_ = 2;
      scheduleFollowUp(std::chrono::seconds(3));
    } else if (!wasConnected) {
      // Back after a cut: only what was held meanwhile. OpenDHT keeps what it announced before,
      // and its failed puts are put again by their writers. Announcing everything at each
      // reconnection made a busy peer that OpenDHT briefly took for dead reconnect into a flood
      // of its own re-announcements, and lose its neighbour again.
      announceAgain(false);
    }
  } else if (wasConnected) {
    logger_.info("dht: no DHT node reachable; values are stored on this node only");
  }
}

void OpenDhtLookupService::Impl::scheduleFollowUp(Duration delay) {
  reannounceTimer_.expires_after(delay);
  reannounceTimer_.async_wait([inbox = inbox()](const asio::error_code& error) {
    if (error) return;
    inbox.post([](Impl& self) {
      if (!self.runner_ || self.status_ != opendht::NodeStatus::Connected || self.followUps_ <= 0)
        return;
      --self.followUps_;
      self.announceAgain(true);
      if (self.followUps_ > 0) self.scheduleFollowUp(std::chrono::seconds(10));
    });
  });
}

void OpenDhtLookupService::Impl::announceAgain(bool everything) {
  // Values put while this node was alone (the first peer of an overlay, a peer still
  // bootstrapping, one cut off for a while) reached no other node: they were held here (put()),
  // or OpenDHT, which does not re-send them by itself before they expire, stored them here only.
  // Announce each live one, same OpenDHT id and bytes, now that the closest nodes are reachable.
  // From the start again if a round is under way: the closest nodes have changed since.
  // A paused round resumes by itself (onPutDone()); a running one posts its next slice.
  const bool running = announceFrom_.has_value();
  announceFrom_ = PublicationKey{};
  ++announceRound_;
  announceEverything_ = everything || (running && announceEverything_);
  announcedAgain_ = 0;
  if (!running) inbox().post([](Impl& self) { self.announceSome(); });
}

void OpenDhtLookupService::Impl::announceSome() {
  if (!announceFrom_) return;
  if (!runner_ || status_ != opendht::NodeStatus::Connected) {
    announceFrom_.reset();  // onStatus() starts a new round on connecting again
    announcePaused_ = false;
    return;
  }
  // A slice per loop turn: three OpenDHT puts per value, a few microseconds each. And no more
  // than kMaxAnnouncing puts unanswered: OpenDHT's one thread would queue a million of them (and
  // their memory), and shutdown would wait behind the queue. onPutDone() resumes the round.
  constexpr std::size_t kSlice = 256;
  const TimePoint now = Clock::now();
  auto it = publications_.lower_bound(*announceFrom_);
  for (std::size_t n = 0; it != publications_.end() && n < kSlice; ++it, ++n) {
    if (pendingPuts_.size() >= kMaxAnnouncing) break;
    Publication& publication = it->second;
    if (publication.expiresAt <= now || publication.announcedIn == announceRound_ ||
        (!announceEverything_ && publication.announced()))
      continue;
    for (const auto& hash : replicaHashes(it->first.first)) {
      announce(hash, publication.bytes, publication.typeId, publication.dhtId, it->first.first, {});
    }
    publication.announcedIn = announceRound_;
    ++announcedAgain_;
  }
  if (it != publications_.end()) {
    announceFrom_ = it->first;
    if (pendingPuts_.size() >= kMaxAnnouncing) {
      announcePaused_ = true;
    } else {
      inbox().post([](Impl& self) { self.announceSome(); });
    }
    return;
  }
  announceFrom_.reset();
  metrics_.reannounced.inc(announcedAgain_);
  if (announcedAgain_ > 0) {
    logger_.info("dht: announced {} values again now that other nodes are reachable",
                 announcedAgain_);
  }
}

void OpenDhtLookupService::Impl::scheduleMaintenance() {
  timer_.expires_after(config_.bootstrapRetry);
  timer_.async_wait([inbox = inbox()](const asio::error_code& error) {
    // The expiry may already be queued when the timer is cancelled: the inbox drops it then.
    if (!error) inbox.post([](Impl& self) { self.maintain(); });
  });
}

void OpenDhtLookupService::Impl::maintain() {
  if (!runner_) return;
  const TimePoint now = Clock::now();
  std::erase_if(publications_, [now](const auto& entry) { return entry.second.expiresAt <= now; });
  // Only once OpenDHT has given up on every node: while it pings a bootstrap node that does not
  // answer (Connecting, about nine seconds) it holds queued operations, so retrying then would
  // hold them for good.
  if (status_ == opendht::NodeStatus::Disconnected && !bootstrap_.empty()) {
    logger_.info("dht: no DHT node known, bootstrapping again from {} nodes", bootstrap_.size());
    runner_->bootstrap(bootstrap_);
  }
  scheduleMaintenance();
}

void OpenDhtLookupService::Impl::shutdown(bool reportPending) {
  timer_.cancel();
  reannounceTimer_.cancel();
  if (runner_) {
    // No OpenDHT callback runs after this; what they posted carries the old run and is dropped.
    runner_->join();
    runner_.reset();
    ++run_;
    logger_.info("dht: node stopped");
  }
  status_ = opendht::NodeStatus::Disconnected;
  boundPort_ = 0;
  publications_.clear();
  announceFrom_.reset();
  announcePaused_ = false;
  everConnected_ = false;
  for (auto& [token, subscription] : subscriptions_) subscription.dhtTokens.clear();
  auto puts = std::exchange(pendingPuts_, {});
  auto gets = std::exchange(pendingGets_, {});
  if (!reportPending) return;
  for (auto& [op, pending] : puts) {
    inbox().post([done = std::move(pending.done)](Impl&) {
      if (done) done(makeError(ErrorCode::Unavailable, "dht: the DHT node stopped"));
    });
  }
  for (auto& [op, pending] : gets) {
    inbox().post([done = std::move(pending.done)](Impl&) {
      done(makeError(ErrorCode::Unavailable, "dht: the DHT node stopped"));
    });
  }
}

LookupServiceStats OpenDhtLookupService::Impl::stats() const {
  LookupServiceStats stats;
  stats.listens = subscriptions_.size();
  stats.connected = connected();
  const TimePoint now = Clock::now();
  for (const auto& [key, publication] : publications_) {
    if (publication.expiresAt <= now) continue;
    ++stats.puts;
    if (!publication.announced()) ++stats.heldValues;
  }
  if (runner_) {
    // These take OpenDHT's lock for a moment; it is held only while its thread handles a packet
    // or a timer. OpenDHT 2.4 does not count stored keys, so storedKeys stays 0.
    stats.nodes =
        runner_->getNodesStats(AF_INET).good_nodes + runner_->getNodesStats(AF_INET6).good_nodes;
    stats.storedValues = runner_->getStoreSize().second;
  }
  return stats;
}

OpenDhtLookupService::OpenDhtLookupService(const DhtConfig& config, net::EventLoop& loop,
                                           MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<Impl>(config, loop, metrics, std::move(logger))) {}

OpenDhtLookupService::~OpenDhtLookupService() = default;

Result<void> OpenDhtLookupService::start() {
  return impl_->start();
}

std::uint16_t OpenDhtLookupService::boundPort() const {
  return impl_->boundPort();
}

void OpenDhtLookupService::stop() {
  impl_->stop();
}

void OpenDhtLookupService::put(const LookupKey& key, StoredValue value, Duration lifetime,
                               PutCallback done) {
  impl_->put(key, std::move(value), lifetime, std::move(done));
}

void OpenDhtLookupService::get(const LookupKey& key, GetCallback done) {
  impl_->get(key, std::move(done));
}

ListenToken OpenDhtLookupService::listen(const LookupKey& key, ListenCallback onChange) {
  return impl_->listen(key, std::move(onChange));
}

void OpenDhtLookupService::cancelListen(ListenToken token) {
  impl_->cancelListen(token);
}

void OpenDhtLookupService::remove(const LookupKey& key, std::uint64_t id, PutCallback done) {
  impl_->remove(key, id, std::move(done));
}

LookupServiceStats OpenDhtLookupService::stats() const {
  return impl_->stats();
}

bool OpenDhtLookupService::connected() const {
  return impl_->connected();
}

void OpenDhtLookupService::watchConnected(std::function<void(bool)> observer) {
  impl_->watchConnected(std::move(observer));
}

}  // namespace p2psip::dht
