// SPDX-License-Identifier: Apache-2.0
// Signing off the owner's thread: results come back only through the owner's post function.
#include "p2psip/identity/record_signer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "shared_identities.h"

namespace p2psip::identity {
namespace {

// Stands in for the signalling loop: posted work waits here until the test runs it.
class PostedWork {
 public:
  void post(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(fn));
  }
  // Runs what was posted until `n` callbacks ran or about 10 s passed (bounded).
  std::size_t runUntil(std::size_t n) {
    std::size_t ran = 0;
    for (int i = 0; i < 10'000 && ran < n; ++i) {
      std::vector<std::function<void()>> batch;
      {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
      }
      for (auto& fn : batch) {
        fn();
        ++ran;
      }
      if (ran < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ran;
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
};

TEST(ThreadedRecordSigner, SealsOnItsThreadAndAnswersThroughPost) {
  const NodeIdentity& id = sharedIdentity(KeyType::Ed25519);
  PostedWork owner;
  ThreadedRecordSigner signer(id, [&](std::function<void()> fn) { owner.post(std::move(fn)); });
  const auto ownerThread = std::this_thread::get_id();
  std::vector<std::string> sealed;
  for (int i = 0; i < 50; ++i) {
    signer.seal(RecordKind::User, "body " + std::to_string(i), [&](Result<std::string> r) {
      EXPECT_EQ(std::this_thread::get_id(), ownerThread);  // never on the worker
      ASSERT_TRUE(r) << r.error().detail;
      sealed.push_back(*r);
    });
  }
  EXPECT_TRUE(sealed.empty());  // nothing runs inside seal()
  EXPECT_EQ(owner.runUntil(50), 50u);
  ASSERT_EQ(sealed.size(), 50u);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto opened = open(sealed[i], RecordKind::User);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->signer, id.nodeId());
    EXPECT_EQ(opened->envelope.body, "body " + std::to_string(i));  // in order
  }
}

TEST(ThreadedRecordSigner, RecordsThatWaitedTogetherShareASignatureAndEachStillOpens) {
  // The worker hands its first result to `post`, which holds it until the test has queued 40
  // more: those wait together and leave in batches of at most kMaxBatch.
  const NodeIdentity& id = sharedIdentity(KeyType::Ed25519);
  PostedWork owner;
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);
  ThreadedRecordSigner signer(id, [&](std::function<void()> fn) {
    std::lock_guard wait(gate);
    owner.post(std::move(fn));
  });
  std::vector<std::string> sealed;
  auto collect = [&](Result<std::string> r) {
    ASSERT_TRUE(r) << r.error().detail;
    sealed.push_back(*r);
  };
  signer.seal(RecordKind::User, "body 0", collect);
  for (int i = 0; i < 200 && signer.queued() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the worker took job 0
  for (int i = 1; i <= 40; ++i) {
    signer.seal(i % 2 ? RecordKind::User : RecordKind::Peer, "body " + std::to_string(i), collect);
  }
  closed.unlock();
  EXPECT_EQ(owner.runUntil(41), 41u);
  ASSERT_EQ(sealed.size(), 41u);
  int batched = 0;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    const RecordKind kind = i == 0 || i % 2 ? RecordKind::User : RecordKind::Peer;
    auto opened = open(sealed[i], kind);
    ASSERT_TRUE(opened) << i << ": " << opened.error().detail;
    EXPECT_EQ(opened->signer, id.nodeId());
    EXPECT_EQ(opened->envelope.body, "body " + std::to_string(i));  // in order
    if (opened->envelope.version == 2) {
      ++batched;
      EXPECT_LT(opened->envelope.leafIndex, kMaxBatch);
      EXPECT_LE(opened->envelope.siblings.size(), 4u * 32u);
    }
  }
  EXPECT_EQ(decodeEnvelope(sealed[0])->version, 1);  // it was alone
  EXPECT_EQ(batched, 40);
}

TEST(ThreadedRecordSigner, AFullQueueRefusesInsteadOfGrowing) {
  const NodeIdentity& id = sharedIdentity(KeyType::Ed25519);
  PostedWork owner;
  ThreadedRecordSigner signer(
      id, [&](std::function<void()> fn) { owner.post(std::move(fn)); },
      /*maxQueued=*/4);
  std::atomic<int> refused{0};
  std::atomic<int> signedOk{0};
  for (int i = 0; i < 200; ++i) {
    signer.seal(RecordKind::User, "x", [&](Result<std::string> r) {
      if (r) {
        ++signedOk;
      } else {
        EXPECT_EQ(r.error().code, ErrorCode::LimitExceeded);
        ++refused;
      }
    });
  }
  EXPECT_EQ(owner.runUntil(200), 200u);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(refused.load() + signedOk.load(), 200);
}

TEST(ThreadedRecordSigner, DestroyingWithJobsQueuedIsSafe) {
  const NodeIdentity& id = sharedIdentity(KeyType::Ed25519);
  PostedWork owner;
  {
    ThreadedRecordSigner signer(id, [&](std::function<void()> fn) { owner.post(std::move(fn)); });
    for (int i = 0; i < 1000; ++i) signer.seal(RecordKind::User, "y", [](Result<std::string>) {});
  }
  owner.runUntil(0);
}

TEST(InlineRecordSigner, SealsInsideTheCall) {
  const NodeIdentity& id = sharedIdentity(KeyType::Ed25519);
  InlineRecordSigner signer(id);
  bool done = false;
  signer.seal(RecordKind::Peer, "z", [&](Result<std::string> r) {
    done = r.has_value() && open(*r, RecordKind::Peer).has_value();
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace p2psip::identity
