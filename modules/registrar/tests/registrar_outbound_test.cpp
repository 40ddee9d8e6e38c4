// SPDX-License-Identifier: Apache-2.0
// Path (RFC 3327), outbound flows (RFC 5626) and overload (503) at the registrar.
#include "p2psip/registrar/registrar.h"

#include "registrar_test_support.h"

namespace p2psip::registrar::testing {
namespace {

constexpr const char* kBob = "sip:bob@p2p.test";
constexpr const char* kInstance = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";

std::string outboundContact(const std::string& host, int regId = 1) {
  return "<sip:bob@" + host + ";transport=tcp;ob>;+sip.instance=\"" + kInstance +
         "\";reg-id=" + std::to_string(regId);
}

TEST(RegistrarPath, PathIsStoredAndEchoedToAUaThatSupportsIt) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {"<sip:bob@192.0.2.10>"};
  spec.extraHeaders =
      "Path: <sip:edge1.p2p.test;lr>\r\nPath: <sip:edge2.p2p.test;lr>\r\nSupported: path\r\n";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Path),
            (std::vector<std::string>{"<sip:edge1.p2p.test;lr>", "<sip:edge2.p2p.test;lr>"}));
  EXPECT_EQ(h.store.find(kBob)[0].path,
            (std::vector<std::string>{"<sip:edge1.p2p.test;lr>", "<sip:edge2.p2p.test;lr>"}));
}

TEST(RegistrarPath, PathIsStoredButNotEchoedWithoutSupportedPath) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {"<sip:bob@192.0.2.10>"};
  spec.extraHeaders = "Path: <sip:edge1.p2p.test;lr>, <sip:edge2.p2p.test;lr>\r\n";
  auto r = h.send(spec);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_TRUE(values(r, sip::HeaderId::Path).empty());
  EXPECT_EQ(h.store.find(kBob)[0].path.size(), 2u);
}

TEST(RegistrarOutbound, OutboundBindingRecordsTheFlowAndRequiresOutbound) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {outboundContact("192.0.2.10:40000")};
  spec.extraHeaders = "Supported: path, outbound\r\n";
  auto r = h.send(spec, tcpFlow(7));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(header(r, sip::HeaderId::Require), "outbound");
  EXPECT_EQ(header(r, sip::HeaderId::Flowtimer), "115");
  EXPECT_EQ(values(r, sip::HeaderId::Contact),
            (std::vector<std::string>{"<sip:bob@192.0.2.10:40000;transport=tcp;ob>;expires=3600;"
                                      "+sip.instance=\"" +
                                      std::string(kInstance) + "\";reg-id=1"}));
  auto b = h.store.find(kBob);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].outbound);
  EXPECT_EQ(b[0].instanceId, kInstance);
  EXPECT_EQ(b[0].regId, 1u);
  EXPECT_EQ(b[0].flow.transport, location::FlowTransport::Tcp);
  EXPECT_EQ(b[0].flow.connection, 7u);
  EXPECT_EQ(b[0].flow.remote, endpoint("192.0.2.10", 40000));
  // The connection closing takes the binding with it (RFC 5626 §5.4).
  EXPECT_EQ(h.store.removeFlow(7), 1u);
  EXPECT_FALSE(h.store.hasBindings(kBob));
}

TEST(RegistrarOutbound, UdpFlowGetsTheDatagramFlowTimer) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {outboundContact("192.0.2.10:5060")};
  spec.extraHeaders = "Supported: outbound\r\n";
  auto r = h.send(spec);
  EXPECT_EQ(header(r, sip::HeaderId::Flowtimer), "25");
}

TEST(RegistrarOutbound, SameInstanceAndRegIdOverANewFlowReplacesTheOldOne) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {outboundContact("192.0.2.10:40000")};
  spec.extraHeaders = "Supported: outbound\r\n";
  ASSERT_EQ(h.send(spec, tcpFlow(7)).statusCode(), 200);
  spec.contacts = {outboundContact("192.0.2.99:41000")};
  spec.callId = "after-reconnect@192.0.2.99";
  ASSERT_EQ(h.send(spec, tcpFlow(8)).statusCode(), 200);
  auto b = h.store.find(kBob);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].flow.connection, 8u);
  // A second flow of the same instance (reg-id 2) coexists.
  spec.contacts = {outboundContact("192.0.2.99:42000", 2)};
  ASSERT_EQ(h.send(spec, tcpFlow(9)).statusCode(), 200);
  EXPECT_EQ(h.store.find(kBob).size(), 2u);
}

TEST(RegistrarOutbound, WithoutSupportedOutboundTheBindingIsPlain) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {outboundContact("192.0.2.10:40000")};
  auto r = h.send(spec, tcpFlow(7));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_TRUE(header(r, sip::HeaderId::Require).empty());
  EXPECT_TRUE(header(r, sip::HeaderId::Flowtimer).empty());
  auto b = h.store.find(kBob);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_FALSE(b[0].outbound);
  EXPECT_EQ(b[0].regId, 0u);
  EXPECT_EQ(b[0].flow.connection, 7u);  // the flow is recorded all the same
}

TEST(RegistrarOutbound, FirstHopWithoutObIs439) {
  Harness h;
  RegisterSpec spec;
  spec.contacts = {outboundContact("192.0.2.10:40000")};
  spec.extraHeaders = "Supported: path, outbound\r\nPath: <sip:edge1.p2p.test;lr>\r\n";
  EXPECT_EQ(h.send(spec, tcpFlow(7)).statusCode(), 439);
  spec.extraHeaders = "Supported: path, outbound\r\nPath: <sip:edge1.p2p.test;lr;ob>\r\n";
  auto r = h.send(spec, tcpFlow(7));
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(values(r, sip::HeaderId::Path),
            (std::vector<std::string>{"<sip:edge1.p2p.test;lr;ob>"}));
}

TEST(RegistrarCapacity, FullStoreIs503WithRetryAfterAndRefreshesStillWork) {
  location::BindingStoreConfig storeConfig;
  storeConfig.maxBindings = 2;
  storeConfig.maxBindingsPerAor = 2;
  Harness h(RegistrarConfig{}, storeConfig);
  RegisterSpec spec;
  spec.contacts = {"<sip:bob@192.0.2.1>", "<sip:bob@192.0.2.2>"};
  ASSERT_EQ(h.send(spec).statusCode(), 200);
  RegisterSpec alice;
  alice.to = "sip:alice@p2p.test";
  alice.contacts = {"<sip:alice@192.0.2.3>"};
  auto r = h.send(alice);
  EXPECT_EQ(r.statusCode(), 503);
  EXPECT_EQ(header(r, sip::HeaderId::RetryAfter), "30");
  EXPECT_FALSE(h.store.hasBindings("sip:alice@p2p.test"));
  // Per-AOR limit: all or nothing.
  spec.cseq = 2;
  spec.contacts = {"<sip:bob@192.0.2.1>", "<sip:bob@192.0.2.9>"};
  EXPECT_EQ(h.send(spec).statusCode(), 503);
  EXPECT_EQ(h.store.find(kBob).size(), 2u);
  spec.cseq = 3;
  spec.contacts = {"<sip:bob@192.0.2.1>;expires=600"};
  EXPECT_EQ(h.send(spec).statusCode(), 200);
}

}  // namespace
}  // namespace p2psip::registrar::testing
