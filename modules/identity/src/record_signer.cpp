// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/record_signer.h"

#include <vector>

namespace p2psip::identity {

ThreadedRecordSigner::ThreadedRecordSigner(const NodeIdentity& identity, Post post,
                                           std::size_t maxQueued,
                                           std::chrono::microseconds batchWindow)
    : identity_(identity),
      post_(std::move(post)),
      maxQueued_(maxQueued),
      batchWindow_(batchWindow),
      worker_([this] { run(); }) {}

ThreadedRecordSigner::~ThreadedRecordSigner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_one();
  worker_.join();
}

void ThreadedRecordSigner::seal(RecordKind kind, std::string body, SealCallback done) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() < maxQueued_) {
      jobs_.push_back(Job{kind, std::move(body), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  // Over the bound: refuse now rather than grow; the owner hears it on its own thread.
  post_([done = std::move(done), limit = maxQueued_] {
    done(makeError(ErrorCode::LimitExceeded,
                   "record signer: " + std::to_string(limit) + " records already waiting"));
  });
}

std::size_t ThreadedRecordSigner::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void ThreadedRecordSigner::run() {
  std::vector<Job> batch;
  std::vector<BatchRecord> records;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // A short wait lets a burst fill the batch: without it the worker, as fast as the loop that
      // feeds it, would mostly find one record waiting and sign each alone. A record's DHT put
      // takes far longer than the window anyway.
      if (jobs_.size() < kMaxBatch && batchWindow_.count() > 0) {
        wake_.wait_for(lock, batchWindow_,
                       [this] { return stopping_ || jobs_.size() >= kMaxBatch; });
      }
      if (stopping_) return;
      // Whatever waits goes out under one signature (up to kMaxBatch): a burst of first
      // registrations costs a signature per batch, a lone record still gets a version-1 envelope.
      while (!jobs_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      }
    }
    // NodeIdentity::sign uses a fresh EVP context per call over an immutable key: safe here.
    if (batch.size() == 1) {
      auto sealed = identity::seal(identity_, batch[0].kind, batch[0].body);
      post_([done = std::move(batch[0].done), sealed = std::move(sealed)]() mutable {
        done(std::move(sealed));
      });
      continue;
    }
    records.clear();
    for (const auto& job : batch) records.push_back(BatchRecord{job.kind, job.body});
    auto sealed = sealBatch(identity_, records);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      post_([done = std::move(batch[i].done), result = std::move(sealed[i])]() mutable {
        done(std::move(result));
      });
    }
  }
}

}  // namespace p2psip::identity
