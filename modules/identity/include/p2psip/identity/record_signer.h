// SPDX-License-Identifier: Apache-2.0
// RecordSigner: seals records (identity::seal) for the layers that publish them, so that signing
// cost never sits on the signalling loop at high registration rates (docs/adr/0003: a burst of
// 35,000 first registrations/s needs 1.65 cores of Ed25519 signatures).
//
//   - InlineRecordSigner seals inside the call (unit tests, tools).
//   - ThreadedRecordSigner seals on its own worker thread and hands each result back through the
//     owner's `post` function (app wires it to net::EventLoop::post), like OpenDHT's thread does.
//     Records waiting together are signed together (sealBatch, up to kMaxBatch per signature).
//     The owner's state is never touched off its thread; the only lock guards the job queue.
//     A full queue (maxQueued) fails the job at once with LimitExceeded; the publisher retries.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "p2psip/common/result.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/signed_envelope.h"

namespace p2psip::identity {

using SealCallback = std::function<void(Result<std::string>)>;

class RecordSigner {
 public:
  virtual ~RecordSigner() = default;
  // `done` runs on the owner's thread, never inside the call for ThreadedRecordSigner.
  virtual void seal(RecordKind kind, std::string body, SealCallback done) = 0;
};

class InlineRecordSigner final : public RecordSigner {
 public:
  explicit InlineRecordSigner(const NodeIdentity& identity) : identity_(identity) {}
  void seal(RecordKind kind, std::string body, SealCallback done) override {
    done(identity::seal(identity_, kind, body));
  }

 private:
  const NodeIdentity& identity_;
};

class ThreadedRecordSigner final : public RecordSigner {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // `batchWindow`: how long the worker waits for a batch to fill once a record is waiting.
  ThreadedRecordSigner(const NodeIdentity& identity, Post post, std::size_t maxQueued = 100'000,
                       std::chrono::microseconds batchWindow = std::chrono::milliseconds(1));
  // Stops the worker; jobs not yet signed are dropped without a callback.
  ~ThreadedRecordSigner() override;
  ThreadedRecordSigner(const ThreadedRecordSigner&) = delete;
  ThreadedRecordSigner& operator=(const ThreadedRecordSigner&) = delete;

  void seal(RecordKind kind, std::string body, SealCallback done) override;
  std::size_t queued() const;

 private:
  struct Job {
    RecordKind kind;
    std::string body;
    SealCallback done;
  };
  void run();

  const NodeIdentity& identity_;
  Post post_;
  std::size_t maxQueued_;
  std::chrono::microseconds batchWindow_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread worker_;  // last: starts after everything it uses exists
};

}  // namespace p2psip::identity
