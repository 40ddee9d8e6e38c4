// SPDX-License-Identifier: Apache-2.0
// ReceptionStatistics: loss and interarrival jitter of the RTP one leg receives, as an RTP
// receiver computes them for its reception reports: sequence number tracking with probation and
// wrap-around (RFC 3550 A.1), cumulative loss (A.3) and jitter (A.8). Owned by a media thread.
#pragma once

#include <cstdint>

namespace p2psip::media {

class ReceptionStatistics {
 public:
  explicit ReceptionStatistics(std::uint32_t clockRate) : clockRate_(clockRate) {}

  // One RTP packet. `arrivalNs` is its arrival time on any clock in nanoseconds (only differences
  // matter). A new SSRC starts a new source (A.1): what the old one lost is kept in lost().
  void onPacket(std::uint32_t ssrc, std::uint16_t sequence, std::uint32_t rtpTimestamp,
                std::int64_t arrivalNs);

  // Cumulative packets lost over every source seen: expected minus received (A.3). Negative when
  // duplicates arrived. Zero until a source has passed probation (two packets in sequence).
  std::int64_t lost() const;
  // Interarrival jitter in RTP timestamp units (A.8), and in milliseconds.
  double jitter() const { return jitter_; }
  double jitterMs() const { return jitter_ * 1000.0 / clockRate_; }
  std::uint64_t received() const { return received_; }

 private:
  void startSource(std::uint32_t ssrc, std::uint16_t sequence);
  void initSequence(std::uint16_t sequence);
  bool updateSequence(std::uint16_t sequence);
  std::int64_t lostThisSource() const;
  void updateJitter(std::uint32_t rtpTimestamp, std::int64_t arrivalNs);

  std::uint32_t clockRate_;
  bool haveSource_ = false;
  std::uint32_t ssrc_ = 0;
  // A.1 source state.
  std::uint16_t maxSeq_ = 0;
  std::uint32_t cycles_ = 0;  // shifted count of sequence number cycles
  std::uint32_t baseSeq_ = 0;
  std::uint32_t badSeq_ = 0;
  std::uint32_t probation_ = 0;
  std::uint64_t received_ = 0;
  std::int64_t lostEarlierSources_ = 0;
  // A.8 state.
  bool haveTransit_ = false;
  std::int64_t arrivalOriginNs_ = 0;
  std::uint32_t transit_ = 0;
  double jitter_ = 0;
};

}  // namespace p2psip::media
