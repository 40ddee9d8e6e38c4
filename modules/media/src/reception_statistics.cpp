// SPDX-License-Identifier: Apache-2.0
#include "reception_statistics.h"

namespace p2psip::media {
namespace {

// RFC 3550 A.1 constants.
constexpr std::uint32_t kRtpSeqMod = 1U << 16;
constexpr std::uint32_t kMaxDropout = 3000;
constexpr std::uint32_t kMaxMisorder = 100;
constexpr std::uint32_t kMinSequential = 2;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

void ReceptionStatistics::onPacket(std::uint32_t ssrc, std::uint16_t sequence,
                                   std::uint32_t rtpTimestamp, std::int64_t arrivalNs) {
  if (!haveSource_ || ssrc != ssrc_) startSource(ssrc, sequence);
  if (!updateSequence(sequence)) return;  // on probation, or a jump not yet confirmed
  updateJitter(rtpTimestamp, arrivalNs);
}

std::int64_t ReceptionStatistics::lost() const {
  return lostEarlierSources_ + lostThisSource();
}

void ReceptionStatistics::startSource(std::uint32_t ssrc, std::uint16_t sequence) {
  if (haveSource_) lostEarlierSources_ += lostThisSource();
  haveSource_ = true;
  ssrc_ = ssrc;
  // A.1: "init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL;"
  initSequence(sequence);
  received_ = 0;
  maxSeq_ = static_cast<std::uint16_t>(sequence - 1);
  probation_ = kMinSequential;
  // A new source has its own timestamp origin: the next transit starts afresh (the jitter
  // estimate itself carries on, so a stream's figure does not drop to zero on an SSRC change).
  haveTransit_ = false;
}

void ReceptionStatistics::initSequence(std::uint16_t sequence) {
  baseSeq_ = sequence;
  maxSeq_ = sequence;
  badSeq_ = kRtpSeqMod + 1;  // so seq == bad_seq is false
  cycles_ = 0;
  // A.1 resets received here: packets before a resynchronisation are no longer in "expected".
  received_ = 0;
}

// RFC 3550 A.1 update_seq(), transcribed. Returns whether the packet counts.
bool ReceptionStatistics::updateSequence(std::uint16_t sequence) {
  const std::uint16_t udelta = static_cast<std::uint16_t>(sequence - maxSeq_);
  if (probation_ > 0) {
    // Packets must be in sequence for the source to be valid.
    if (sequence == static_cast<std::uint16_t>(maxSeq_ + 1)) {
      --probation_;
      maxSeq_ = sequence;
      if (probation_ == 0) {
        initSequence(sequence);
        ++received_;
        return true;
      }
    } else {
      probation_ = kMinSequential - 1;
      maxSeq_ = sequence;
    }
    return false;
  }
  if (udelta < kMaxDropout) {
    // In order, with a permissible gap.
    if (sequence < maxSeq_) cycles_ += kRtpSeqMod;  // wrapped
    maxSeq_ = sequence;
  } else if (udelta <= kRtpSeqMod - kMaxMisorder) {
    // A very large jump: the sender restarted. Accept it if the next packet follows it.
    if (sequence == badSeq_) {
      initSequence(sequence);
    } else {
      badSeq_ = (std::uint32_t{sequence} + 1) & (kRtpSeqMod - 1);
      return false;
    }
  }
  // Otherwise a duplicate or reordered packet: counted as received (A.3's lost may go negative).
  ++received_;
  return true;
}

std::int64_t ReceptionStatistics::lostThisSource() const {
  if (probation_ > 0) return 0;
  // A.3: extended_max = cycles + max_seq; expected = extended_max - base_seq + 1.
  const std::int64_t extendedMax = std::int64_t{cycles_} + maxSeq_;
  const std::int64_t expected = extendedMax - std::int64_t{baseSeq_} + 1;
  return expected - static_cast<std::int64_t>(received_);
}

// RFC 3550 A.8: transit = arrival - timestamp in timestamp units; D = transit - previous transit;
// J += (|D| - J) / 16.
void ReceptionStatistics::updateJitter(std::uint32_t rtpTimestamp, std::int64_t arrivalNs) {
  if (!haveTransit_) arrivalOriginNs_ = arrivalNs;
  // Arrival relative to this source's first packet, converted in two parts so that
  // nanoseconds * 48000 cannot overflow however long the call.
  const std::int64_t sinceOrigin = arrivalNs - arrivalOriginNs_;
  const std::int64_t seconds = sinceOrigin / kNanosPerSecond;
  const std::int64_t remainder = sinceOrigin % kNanosPerSecond;
  const std::int64_t units = seconds * clockRate_ + remainder * clockRate_ / kNanosPerSecond;
  const std::uint32_t transit = static_cast<std::uint32_t>(units) - rtpTimestamp;  // modulo 2^32
  if (!haveTransit_) {
    // The first packet has no previous transit to compare with.
    haveTransit_ = true;
    transit_ = transit;
    return;
  }
  std::int64_t d = static_cast<std::int32_t>(transit - transit_);
  transit_ = transit;
  if (d < 0) d = -d;
  jitter_ += (static_cast<double>(d) - jitter_) / 16.0;
}

}  // namespace p2psip::media
