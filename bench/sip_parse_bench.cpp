// SPDX-License-Identifier: Apache-2.0
// Parse and proxy-edit throughput: p2psip's sip module against libosip2, in one run.
// Prints median times, the ratio, and heap allocations per message.
#include <benchmark/benchmark.h>

#include <osipparser2/osip_parser.h>

#include <cstdio>
#include <map>
#include <string>

#include "allocation_counter.h"
#include "p2psip/sip/parser.h"

namespace {

// A typical INVITE from a softphone, with an SDP offer for audio (about 930 bytes).
const std::string kInvite =
    "INVITE sip:bob@p2p.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK.5a8f9a2c1;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:198.18.0.1:5060;lr>\r\n"
    "From: \"Alice Liddell\" <sip:alice@p2p.test>;tag=9fxced76sl\r\n"
    "To: <sip:bob@p2p.test>\r\n"
    "Call-ID: 3848276298220188511@192.0.2.10\r\n"
    "CSeq: 20 INVITE\r\n"
    "Contact: "
    "<sip:alice@192.0.2.10:5060;transport=udp>;+sip.instance=\"<urn:uuid:0b6e7c0a-7d9f-4a5e-9a3e-"
    "1c2b3d4e5f60>\"\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
    "Supported: replaces, outbound, gruu\r\n"
    "User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 381\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 3724 1861 IN IP4 192.0.2.10\r\n"
    "s=Talk\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
    "m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 useinbandfec=1\r\n"
    "a=rtpmap:97 speex/16000\r\n"
    "a=fmtp:97 vbr=on\r\n"
    "a=rtpmap:98 speex/8000\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=rtpmap:99 telephone-event/16000\r\n"
    "a=rtpmap:100 telephone-event/8000\r\n"
    "a=rtcp-fb:* trr-int 1000\r\n"
    "a=rtcp-fb:* ccm tmmbr\r\n";

// A typical REGISTER (about 550 bytes).
const std::string kRegister =
    "REGISTER sip:p2p.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK.b8e1d1a3f;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@p2p.test>;tag=kKmq5lQ~0\r\n"
    "To: <sip:alice@p2p.test>\r\n"
    "Call-ID: 843817637684230@192.0.2.10\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: "
    "<sip:alice@192.0.2.10:5060;transport=udp>;+sip.instance=\"<urn:uuid:0b6e7c0a-7d9f-4a5e-9a3e-"
    "1c2b3d4e5f60>\";reg-id=1;expires=3600\r\n"
    "Expires: 3600\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
    "Supported: path, outbound, gruu\r\n"
    "User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

constexpr const char* kProxyVia = "SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK-p2p-7f3a9c";
constexpr const char* kRecordRoute = "<sip:198.18.0.1:5060;lr>";

void reportAllocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs_per_msg"] =
      benchmark::Counter(static_cast<double>(p2psip::bench::allocationCount() - before) /
                         static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

void p2psipParse(benchmark::State& state, const std::string& text) {
  auto before = p2psip::bench::allocationCount();
  for (auto _ : state) {
    auto m = p2psip::sip::parseDatagram(text);
    benchmark::DoNotOptimize(m);
    if (!m) state.SkipWithError("parse failed");
  }
  reportAllocations(state, before);
}

void osipParse(benchmark::State& state, const std::string& text) {
  auto before = p2psip::bench::allocationCount();
  for (auto _ : state) {
    osip_message_t* sip = nullptr;
    osip_message_init(&sip);
    if (osip_message_parse(sip, text.data(), text.size()) != 0)
      state.SkipWithError("osip parse failed");
    benchmark::DoNotOptimize(sip);
    osip_message_free(sip);
  }
  reportAllocations(state, before);
}

void p2psipEdit(benchmark::State& state, const std::string& text) {
  std::string out;
  out.reserve(4096);
  auto before = p2psip::bench::allocationCount();
  for (auto _ : state) {
    auto m = p2psip::sip::parseDatagram(text);
    m->popRoute();
    m->pushVia(kProxyVia);
    m->pushRecordRoute(kRecordRoute);
    m->decrementMaxForwards();
    out.clear();
    m->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
  }
  reportAllocations(state, before);
}

void osipEdit(benchmark::State& state, const std::string& text) {
  auto before = p2psip::bench::allocationCount();
  for (auto _ : state) {
    osip_message_t* sip = nullptr;
    osip_message_init(&sip);
    osip_message_parse(sip, text.data(), text.size());
    if (osip_list_size(&sip->routes) > 0) {
      auto* route = static_cast<osip_route_t*>(osip_list_get(&sip->routes, 0));
      osip_list_remove(&sip->routes, 0);
      osip_route_free(route);
    }
    osip_via_t* via = nullptr;
    osip_via_init(&via);
    osip_via_parse(via, kProxyVia);
    osip_list_add(&sip->vias, via, 0);
    osip_record_route_t* rr = nullptr;
    osip_record_route_init(&rr);
    osip_record_route_parse(rr, kRecordRoute);
    osip_list_add(&sip->record_routes, rr, 0);
    osip_header_t* mf = nullptr;
    if (osip_message_get_max_forwards(sip, 0, &mf) >= 0 && mf != nullptr) {
      int value = atoi(mf->hvalue);
      osip_free(mf->hvalue);
      char buf[16];
      snprintf(buf, sizeof buf, "%d", value - 1);
      mf->hvalue = osip_strdup(buf);
    }
    osip_message_force_update(sip);  // otherwise osip returns its cached copy of the input
    char* out = nullptr;
    size_t len = 0;
    osip_message_to_str(sip, &out, &len);
    benchmark::DoNotOptimize(out);
    osip_free(out);
    osip_message_free(sip);
  }
  reportAllocations(state, before);
}

// Collects the median of each benchmark to print ratios after the run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      std::string name = r.benchmark_name();
      bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      if (median || single) {
        std::string base = name.substr(0, name.find("_median"));
        nsPerMessage_[base] = r.GetAdjustedRealTime();
        auto it = r.counters.find("allocs_per_msg");
        if (it != r.counters.end()) allocs_[base] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void printRatios() const {
    std::printf("\n%-16s %14s %14s %10s %12s %12s\n", "workload", "p2psip ns/msg",
                "libosip2 ns/msg", "speed-up", "p2psip allocs", "osip allocs");
    for (const char* w : {"parse/INVITE", "parse/REGISTER", "edit/INVITE", "edit/REGISTER"}) {
      std::string ours = std::string("p2psip/") + w;
      std::string ref = std::string("libosip2/") + w;
      if (!nsPerMessage_.count(ours) || !nsPerMessage_.count(ref)) continue;
      std::printf("%-16s %14.0f %14.0f %9.1fx %12.1f %12.1f\n", w, nsPerMessage_.at(ours),
                  nsPerMessage_.at(ref), nsPerMessage_.at(ref) / nsPerMessage_.at(ours),
                  allocs_.at(ours), allocs_.at(ref));
    }
    std::printf(
        "(medians; target: speed-up >= 5x for parse and edit, p2psip allocs <= 2 per parse)\n");
  }

 private:
  std::map<std::string, double> nsPerMessage_;
  std::map<std::string, double> allocs_;
};

}  // namespace

int main(int argc, char** argv) {
  parser_init();
  std::printf("INVITE %zu bytes, REGISTER %zu bytes\n", kInvite.size(), kRegister.size());
  benchmark::RegisterBenchmark("p2psip/parse/INVITE", p2psipParse, kInvite);
  benchmark::RegisterBenchmark("libosip2/parse/INVITE", osipParse, kInvite);
  benchmark::RegisterBenchmark("p2psip/parse/REGISTER", p2psipParse, kRegister);
  benchmark::RegisterBenchmark("libosip2/parse/REGISTER", osipParse, kRegister);
  benchmark::RegisterBenchmark("p2psip/edit/INVITE", p2psipEdit, kInvite);
  benchmark::RegisterBenchmark("libosip2/edit/INVITE", osipEdit, kInvite);
  benchmark::RegisterBenchmark("p2psip/edit/REGISTER", p2psipEdit, kRegister);
  benchmark::RegisterBenchmark("libosip2/edit/REGISTER", osipEdit, kRegister);
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5";
  std::string onlyAgg = "--benchmark_report_aggregates_only=true";
  bool hasReps = false;
  for (int i = 1; i < argc; ++i)
    hasReps = hasReps || std::string(argv[i]).starts_with("--benchmark_repetitions");
  if (!hasReps) {
    args.push_back(reps.data());
    args.push_back(onlyAgg.data());
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.printRatios();
  benchmark::Shutdown();
  return 0;
}
