// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/record_signer.h"

namespace p2psip::identity {

ThreadedRecordSigner::ThreadedRecordSigner(const NodeIdentity& identity, Post post,
                                           std::size_t maxQueued)
    : identity_(identity),
      post_(std::move(post)),
      maxQueued_(maxQueued),
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
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    // NodeIdentity::sign uses a fresh EVP context per call over an immutable key: safe here.
    auto sealed = identity::seal(identity_, job.kind, job.body);
    post_([done = std::move(job.done), sealed = std::move(sealed)]() mutable {
      done(std::move(sealed));
    });
  }
}

}  // namespace p2psip::identity
