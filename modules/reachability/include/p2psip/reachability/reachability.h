// SPDX-License-Identifier: Apache-2.0
// Reachability: what a peer learned about the path between it and the public side, from Binding
// transactions with other peers' reflectors (prober.h). Vocabulary from RFC 4787 (mapping and
// filtering behaviour) and RFC 5780 §4 (how to observe them), summarised in the classic NatClass
// a call uses to pick its media path: direct, hole-punched, or through a third relay peer.
//
// NAT is detected by comparing the reflexive transport address the reflectors observed with our
// own local one, never by address range: test hosts sit in 198.18.0.0/15, which is not RFC 1918,
// and real peers may sit behind carrier-grade NAT in public-looking space.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/net/endpoint.h"

namespace p2psip::reachability {

// RFC 4787 §4.1. AddressDependent covers both address- and address-and-port-dependent mapping:
// reflectors on different IPs cannot tell them apart, and either defeats a shared mapping.
enum class MappingBehavior : std::uint8_t { Unknown, EndpointIndependent, AddressDependent };

// RFC 4787 §5, as RFC 5780 §4.4 observes it with a change-port request: Open when the answer
// sent from the reflector's other port reached us (unsolicited traffic passes), Filtered when it
// did not although the same reflector answered from its primary port.
enum class FilteringBehavior : std::uint8_t { Unknown, Open, Filtered };

// The summary a call's path choice uses.
//   Public:         no translation and no filtering: anyone can send to `observed`.
//   FullCone:       endpoint-independent mapping and filtering: anyone can send to `observed`.
//   RestrictedCone: endpoint-independent mapping, filtered (address- or port-restricted), or no
//                   translation behind a stateful firewall: reachable after hole punching.
//   Symmetric:      the mapping depends on the destination: use a relay peer.
//   Unknown:        too few answers to say (see Reachability::notes).
enum class NatClass : std::uint8_t { Public, FullCone, RestrictedCone, Symmetric, Unknown };

// Whether other peers can open a link (TCP) to us: asked of a reflector, which tries to connect
// back to our reflexive IP at our peer-link port (stun_message.h, CONNECT-BACK). Unknown when no
// reflector could say (an older one, or its limits).
enum class InboundLinks : std::uint8_t { Unknown, Accepted, Refused };

const char* toString(NatClass c);
const char* toString(InboundLinks l);
const char* toString(MappingBehavior m);
const char* toString(FilteringBehavior f);

// One Binding transaction of a probe and how it ended.
struct BindingOutcome {
  net::Endpoint reflector;  // where the request was sent (the reflector's primary endpoint)
  bool changePort = false;  // the request carried CHANGE-REQUEST(change port), RFC 5780 §7.2
  std::optional<net::Endpoint> mapped;        // XOR-MAPPED-ADDRESS of a success response
  std::optional<net::Endpoint> answeredFrom;  // source address of the response datagram
  std::optional<std::uint16_t> errorCode;     // an error response's code (RFC 5389 §15.6)
  // The request asked the reflector to connect back (it is a plain Binding otherwise, but not
  // counted for the mapping: it goes to the first reflector again); its answer's verdict.
  bool connectBack = false;
  std::optional<bool> connectAccepted;
  unsigned transmissions = 0;  // requests sent, retransmissions included

  bool succeeded() const { return mapped.has_value(); }
  bool answered() const { return answeredFrom.has_value(); }
};

struct Reachability {
  net::Endpoint local;                   // the socket we probed from, with its bound port
  std::vector<BindingOutcome> outcomes;  // one per transaction, in the order they were started
  std::vector<net::Endpoint> observed;   // distinct reflexive transport addresses, first seen first
  bool natted = false;                   // some observed address differs from `local`
  MappingBehavior mapping = MappingBehavior::Unknown;
  FilteringBehavior filtering = FilteringBehavior::Unknown;
  NatClass natClass = NatClass::Unknown;
  InboundLinks inboundLinks = InboundLinks::Unknown;
  std::vector<std::string> notes;  // why something is Unknown, or what was odd; for logs

  // Other peers can open links to us: measured when a reflector connected back, else inferred
  // (no translation and open filtering). A peer that cannot needs a rendezvous.
  bool acceptsInboundLinks() const {
    if (inboundLinks != InboundLinks::Unknown) return inboundLinks == InboundLinks::Accepted;
    return !natted && natClass == NatClass::Public;
  }

  // Unsolicited UDP from any peer reaches us at observed.front() (RFC 4787 §5, EIF).
  bool acceptsUnsolicitedUdp() const {
    return natClass == NatClass::Public || natClass == NatClass::FullCone;
  }
};

// The pure decision: builds a Reachability from the outcomes of the plain Binding requests (one
// per reflector) and of the change-port request(s). `local` must be a specific address.
//  - natted: an observed reflexive transport address differs from `local` (address or port:
//    either means something translates, RFC 5389 §2).
//  - mapping: two or more plain answers, all equal: EndpointIndependent; any two differ:
//    AddressDependent (RFC 5780 §4.3); fewer than two: Unknown.
//  - filtering: a change-port answer that came from another port than the one asked: Open; the
//    reflector answered the plain request but not the change-port one: Filtered; else Unknown.
Reachability classify(const net::Endpoint& local, std::vector<BindingOutcome> outcomes);

}  // namespace p2psip::reachability
