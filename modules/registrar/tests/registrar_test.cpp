// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §10.3: registering, refreshing, removing; lifetimes; "*"; Call-ID/CSeq ordering;
// q ordering; AOR canonicalisation; refusals that leave every binding alone.
#include "p2psip/registrar/registrar.h"

#include "registrar_test_support.h"

namespace p2psip::registrar::testing {
namespace {

constexpr const char* kBob = "sip:bob@p2p.test";

RegisterSpec bob(std::vector<std::string> contacts, std::uint32_t cseq = 1) {
  RegisterSpec s;
  s.contacts = std::move(contacts);
  s.cseq = cseq;
  return s;
}

TEST(Registrar, RegisterAnswers200ListingTheBindingWithExpiresAndDate) {
  Harness h;
  auto r = h.send(bob({"<sip:bob@192.0.2.10:5060>"}));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.10:5060>;expires=3600"}));
  EXPECT_EQ(header(r, sip::HeaderId::Date), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_TRUE(r.to().tag().has_value());
  auto bindings = h.store.find(kBob);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].contactUri, "sip:bob@192.0.2.10:5060");
  EXPECT_EQ(bindings[0].callId, "reg-1@192.0.2.10");
  EXPECT_EQ(bindings[0].cseq, 1u);
  EXPECT_EQ(bindings[0].expires, h.timers.now() + 3600s);
  // The source flow is always recorded.
  EXPECT_EQ(bindings[0].flow.transport, location::FlowTransport::Udp);
  EXPECT_EQ(bindings[0].flow.remote, endpoint("192.0.2.10", 5060));
  EXPECT_EQ(bindings[0].flow.local, endpoint("203.0.113.1", 5060));
  EXPECT_FALSE(bindings[0].outbound);
  EXPECT_EQ(h.metric("p2psip_registrar_accepted_total"), 1);
  EXPECT_EQ(h.metric("p2psip_registrar_bindings"), 1);
  // The Date of a later answer follows the wall clock (its text is kept only within a second).
  h.wallNow += 1500ms;
  EXPECT_EQ(header(h.send(bob({"<sip:bob@192.0.2.10:5060>"}, 2)), sip::HeaderId::Date),
            "Sun, 06 Nov 1994 08:49:38 GMT");
  h.wallNow += 24h;
  EXPECT_EQ(header(h.send(bob({"<sip:bob@192.0.2.10:5060>"}, 3)), sip::HeaderId::Date),
            "Mon, 07 Nov 1994 08:49:38 GMT");
}

TEST(Registrar, RefreshKeepsOneBindingWithTheNewLifetime) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.10>"})).statusCode(), 200);
  h.timers.advance(1000s);
  auto spec = bob({"<sip:bob@192.0.2.10>"}, 2);
  spec.expires = "1800";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.10>;expires=1800"}));
  ASSERT_EQ(h.store.find(kBob).size(), 1u);
  EXPECT_EQ(h.store.find(kBob)[0].cseq, 2u);
}

TEST(Registrar, EquivalentUriRefreshesTheSameBinding) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@Host.Example.COM>"})).statusCode(), 200);
  ASSERT_EQ(h.send(bob({"<sip:bob@host.example.com>"}, 2)).statusCode(), 200);
  EXPECT_EQ(h.store.find(kBob).size(), 1u);
}

TEST(Registrar, ExpiresZeroRemovesTheBinding) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.10>", "<sip:bob@192.0.2.11>"})).statusCode(), 200);
  auto r = h.send(bob({"<sip:bob@192.0.2.10>;expires=0"}, 2));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.11>;expires=3600"}));
  auto spec = bob({"<sip:bob@192.0.2.11>"}, 3);
  spec.expires = "0";
  r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_TRUE(values(r, sip::HeaderId::Contact).empty());
  EXPECT_FALSE(h.store.hasBindings(kBob));
}

TEST(Registrar, SeveralContactsPerAorAndAQueryListsThemAll) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.10>", "<sip:bob@192.0.2.11>"})).statusCode(), 200);
  RegisterSpec other = bob({"<sip:bob@198.51.100.5>"});
  other.callId = "other-device@198.51.100.5";
  ASSERT_EQ(h.send(other).statusCode(), 200);
  auto query = h.send(bob({}, 2));
  EXPECT_EQ(query.statusCode(), 200);
  EXPECT_EQ(values(query, sip::HeaderId::Contact).size(), 3u);
  EXPECT_EQ(h.store.find(kBob).size(), 3u);
}

TEST(Registrar, LifetimeComesFromParamThenHeaderThenDefault) {
  Harness h;
  auto spec = bob({"<sip:bob@192.0.2.1>;expires=120", "<sip:bob@192.0.2.2>"});
  spec.expires = "600";
  ASSERT_EQ(h.send(spec).statusCode(), 200);
  RegisterSpec carol;
  carol.to = "sip:carol@p2p.test";
  carol.contacts = {"<sip:carol@192.0.2.3>"};
  ASSERT_EQ(h.send(carol).statusCode(), 200);
  const auto now = h.timers.now();
  for (const auto& b : h.store.find(kBob)) {
    EXPECT_EQ(b.expires - now, b.contactUri == "sip:bob@192.0.2.1" ? 120s : 600s);
  }
  EXPECT_EQ(h.store.find("sip:carol@p2p.test")[0].expires - now, 3600s);
}

TEST(Registrar, TooBriefLifetimeIs423WithMinExpiresAndChangesNothing) {
  Harness h;
  auto spec = bob({"<sip:bob@192.0.2.1>", "<sip:bob@192.0.2.2>;expires=30"});
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 423);
  EXPECT_EQ(header(r, sip::HeaderId::MinExpires), "60");
  EXPECT_FALSE(h.store.hasBindings(kBob));
  spec.contacts = {"<sip:bob@192.0.2.2>;expires=60"};
  EXPECT_EQ(h.send(spec).statusCode(), 200);
}

TEST(Registrar, LongLifetimeIsClampedToTheMaximum) {
  Harness h;
  auto spec = bob({"<sip:bob@192.0.2.1>"});
  spec.expires = "4294967295";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.1>;expires=86400"}));
}

TEST(Registrar, StarWithExpiresZeroRemovesEveryBinding) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.1>", "<sip:bob@192.0.2.2>"})).statusCode(), 200);
  auto spec = bob({"*"}, 2);
  spec.expires = "0";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_TRUE(values(r, sip::HeaderId::Contact).empty());
  EXPECT_FALSE(h.store.hasBindings(kBob));
}

TEST(Registrar, StarIsRefusedUnlessAloneWithExpiresZero) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.1>"})).statusCode(), 200);
  auto noExpires = bob({"*"}, 2);
  auto r = h.send(noExpires);
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.reasonPhrase(), "Contact * requires Expires: 0");
  auto nonZero = bob({"*"}, 3);
  nonZero.expires = "3600";
  EXPECT_EQ(h.send(nonZero).statusCode(), 400);
  auto mixed = bob({"*", "<sip:bob@192.0.2.2>"}, 4);
  mixed.expires = "0";
  r = h.send(mixed);
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.reasonPhrase(), "Contact * must be the only Contact");
  EXPECT_EQ(h.store.find(kBob).size(), 1u);
}

TEST(Registrar, SameCallIdWithoutHigherCSeqFailsWith500AndChangesNothing) {
  Harness h;
  auto first = bob({"<sip:bob@192.0.2.1>"}, 5);
  ASSERT_EQ(h.send(first).statusCode(), 200);
  // Equal and lower CSeq on the same Call-ID are old or reordered requests (§10.3 step 7).
  for (std::uint32_t cseq : {5u, 4u}) {
    auto stale = bob({"<sip:bob@192.0.2.1>;expires=0", "<sip:bob@192.0.2.9>"}, cseq);
    auto r = h.send(stale);
    EXPECT_EQ(r.statusCode(), 500);
    EXPECT_NE(r.reasonPhrase().find("CSeq not higher"), std::string_view::npos);
  }
  auto bindings = h.store.find(kBob);
  ASSERT_EQ(bindings.size(), 1u);  // the new contact of the failed request was not added
  EXPECT_EQ(bindings[0].contactUri, "sip:bob@192.0.2.1");
  // A star on the same Call-ID obeys the same rule.
  auto star = bob({"*"}, 5);
  star.expires = "0";
  EXPECT_EQ(h.send(star).statusCode(), 500);
  EXPECT_TRUE(h.store.hasBindings(kBob));
}

TEST(Registrar, ADifferentCallIdUpdatesWhateverItsCSeq) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.1>"}, 50)).statusCode(), 200);
  auto rebooted = bob({"<sip:bob@192.0.2.1>;expires=300"}, 1);
  rebooted.callId = "after-reboot@192.0.2.1";
  EXPECT_EQ(h.send(rebooted).statusCode(), 200);
  EXPECT_EQ(h.store.find(kBob)[0].callId, "after-reboot@192.0.2.1");
}

TEST(Registrar, The200ListsBindingsHighestQFirst) {
  Harness h;
  auto spec =
      bob({"<sip:bob@192.0.2.1>;q=0.1", "<sip:bob@192.0.2.2>;q=0.9", "<sip:bob@192.0.2.3>;q=0.5"});
  auto r = h.send(spec);
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.2>;expires=3600;q=0.9",
                                      "<sip:bob@192.0.2.3>;expires=3600;q=0.5",
                                      "<sip:bob@192.0.2.1>;expires=3600;q=0.1"}));
  EXPECT_EQ(h.store.find(kBob)[0].q, 900);
}

TEST(Registrar, BindingsExpireWithTime) {
  Harness h;
  auto spec = bob({"<sip:bob@192.0.2.1>;expires=100", "<sip:bob@192.0.2.2>;expires=200"});
  ASSERT_EQ(h.send(spec).statusCode(), 200);
  h.timers.advance(150s);
  auto r = h.send(bob({}, 2));
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.2>;expires=50"}));
  h.timers.advance(51s);
  EXPECT_FALSE(h.store.hasBindings(kBob));
  EXPECT_EQ(h.store.size(), 0u);  // purged
}

TEST(Registrar, OwnAddressAndDomainNameTheSameAor) {
  Harness h;
  RegisterSpec byAddress;
  byAddress.requestUri = "sip:127.0.0.1";
  byAddress.to = "sip:bob@127.0.0.1";
  byAddress.contacts = {"<sip:bob@192.0.2.1>"};
  ASSERT_EQ(h.send(byAddress).statusCode(), 200);
  auto r = h.send(bob({"<sip:bob@192.0.2.2>"}, 2));
  EXPECT_EQ(values(r, sip::HeaderId::Contact).size(), 2u);
  EXPECT_EQ(h.store.find("sip:bob@p2p.test").size(), 2u);
  EXPECT_EQ(h.store.aorCount(), 1u);
}

TEST(Registrar, ForeignRequestUriDomainIs404) {
  Harness h;
  RegisterSpec spec = bob({"<sip:bob@192.0.2.1>"});
  spec.requestUri = "sip:elsewhere.example";
  EXPECT_EQ(h.send(spec).statusCode(), 404);
  spec.requestUri = "tel:+15551234";
  EXPECT_EQ(h.send(spec).statusCode(), 416);
  EXPECT_EQ(h.store.size(), 0u);
}

TEST(Registrar, AorOutsideTheRequestUriDomainIs404) {
  Harness h;
  RegisterSpec spec = bob({"<sip:bob@192.0.2.1>"});
  spec.to = "sip:bob@elsewhere.example";
  EXPECT_EQ(h.send(spec).statusCode(), 404);
  spec.to = "sip:bob@other.test";  // ours, but not the domain of the Request-URI
  EXPECT_EQ(h.send(spec).statusCode(), 404);
  spec.requestUri = "sip:other.test";
  EXPECT_EQ(h.send(spec).statusCode(), 200);
  EXPECT_TRUE(h.store.hasBindings("sip:bob@other.test"));
}

TEST(Registrar, UnsupportedRequireIs420WithUnsupported) {
  Harness h;
  auto spec = bob({"<sip:bob@192.0.2.1>"});
  spec.extraHeaders = "Require: path, foo, bar\r\n";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 420);
  EXPECT_EQ(header(r, sip::HeaderId::Unsupported), "foo, bar");
  spec.extraHeaders = "Require: path, outbound\r\nSupported: path, outbound\r\n";
  EXPECT_EQ(h.send(spec).statusCode(), 200);
}

TEST(Registrar, MalformedInputIs400NamingTheProblemAndLeavesBindingsAlone) {
  Harness h;
  ASSERT_EQ(h.send(bob({"<sip:bob@192.0.2.1>"})).statusCode(), 200);
  RegisterSpec alice;
  alice.to = "sip:alice@p2p.test";
  alice.contacts = {"<sip:alice@192.0.2.7>"};
  ASSERT_EQ(h.send(alice).statusCode(), 200);

  auto badRegId = bob({"<sip:bob@192.0.2.2>;+sip.instance=\"<urn:uuid:1>\";reg-id=abc"}, 2);
  badRegId.extraHeaders = "Supported: outbound\r\n";
  auto r = h.send(badRegId);
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.reasonPhrase(), "Contact reg-id is not a number from 1 to 2**31-1");
  auto emptyInstance = bob({"<sip:bob@192.0.2.3>;+sip.instance=\"\""}, 3);
  EXPECT_EQ(h.send(emptyInstance).statusCode(), 400);
  auto twoFlows = bob({"<sip:bob@192.0.2.4>;+sip.instance=\"<urn:uuid:1>\";reg-id=1",
                       "<sip:bob@192.0.2.5>;+sip.instance=\"<urn:uuid:1>\";reg-id=2"},
                      4);
  twoFlows.extraHeaders = "Supported: outbound\r\n";
  r = h.send(twoFlows);
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.reasonPhrase(), "more than one Contact with reg-id");

  auto bobs = h.store.find(kBob);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].contactUri, "sip:bob@192.0.2.1");
  EXPECT_EQ(h.store.find("sip:alice@p2p.test").size(), 1u);
  EXPECT_EQ(h.metric("p2psip_registrar_rejected_total"), 3);
}

TEST(Registrar, IsKnownUserIsFalseWithoutCredentials) {
  Harness h;
  EXPECT_FALSE(h.registrar.isKnownUser(kBob));
  EXPECT_FALSE(h.registrar.isKnownUser("garbage"));
}

}  // namespace
}  // namespace p2psip::registrar::testing
