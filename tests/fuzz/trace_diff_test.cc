// Per-step differential: random NOP scripts (tests/fuzz/trace_policy.hpp)
// run on the userspace engine and on the BPF engine (in the VM), and every
// step's record must be the same on both: CQ head and tail at step start,
// cq_wait_idx found, SQ space, CQEs consumed (and their user_data/res),
// the submit result, the tail after it, cq_wait_idx left, the return value,
// and each run()'s result. NOPs complete inline during submission and linked
// NOPs through deferred task work in the looping task, so the kernel is
// deterministic; the first test checks that (the userspace engine twice).
//
// Profiles (case i uses profile i % 5):
//   batches   unlinked NOPs, batch sizes and waits varying step to step
//   chains    linked NOP chains (2..8), completing one link per task-work round
//   overflow  a CQ as small as the SQ, filled while nothing is consumed
//   stop      STOP and invalid returns mid-script: many run() calls
//   mixed     all of the above
// Every other round of profiles is "tidy": its steps never ask to sleep
// while posted CQEs are left unconsumed, nor for more CQEs than the CQ holds
// (the KNOWN differences below), so there the traces must agree whatever
// IOULOOP_TRACE_STRICT says.
//
//   IOULOOP_TRACE_SEED   the seed (default: from the clock; always printed)
//   IOULOOP_TRACE_CASES  how many cases (default 200)
//   IOULOOP_TRACE_CASE   run only this case
//   IOULOOP_TRACE_PROFILE run only cases of this profile (a name above)
//   IOULOOP_TRACE_CASE_LIMIT seconds a case may take (default 20)
//   IOULOOP_TRACE_STRICT=1 differences after a KNOWN userspace-engine
//                        difference (see known_difference) fail too
//   IOULOOP_TRACE_VERBOSE=1 print every such difference (else the first 3)
// A difference prints the first differing step of both engines and the
// command that replays the case.
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/fuzz/trace_policy.hpp"
#include "tests/fuzz/trace_programs_bpf.bpf.h"
#include "tests/fuzz/watchdog.hpp"
#include "tests/support/rng.hpp"
#include "tests/support/runners.hpp"

namespace {
using iouloop::u32;
using iouloop::u64;
using iouloop::u8;

using iouloop_test::env_u64;
using iouloop_test::rng;

const char* const profiles[] = {"batches", "chains", "overflow", "stop", "mixed"};
constexpr u32 profile_count = 5;

struct trace_case {
  u32 profile;
  iouloop::ring_options ring;
  trace::params init{};
};

std::string describe(const trace_case& c) {
  std::ostringstream o;
  o << profiles[c.profile] << (c.init.tidy ? " tidy" : "") << " sq " << c.ring.sq_entries << " cq " << c.ring.cq_entries
    << ((c.ring.flags & iouloop::abi::setup::sq_rewind) ? " rewind" : "") << " steps " << c.init.limit;
  return o.str();
}

std::string describe(const trace::op& o) {
  static const char* modes[] = {"head+", "tail+", "tail-", "keep"};
  static const char* acts[] = {"continue", "stop", "invalid"};
  std::ostringstream s;
  s << "nops " << unsigned(o.nops) << " chain " << unsigned(o.chain) << " consume " << unsigned(o.consume) << " wait "
    << modes[o.mode & 3] << unsigned(o.wait) << " " << acts[o.act % 3];
  return s.str();
}

std::string describe(const trace::entry& e) {
  std::ostringstream s;
  s << "run " << e.run << " head " << e.head << " tail " << e.tail << " wait_in " << e.wait_in << " sq_space "
    << e.sq_space << " consumed " << e.consumed;
  if (e.consumed)
    s << " (ud " << e.first_ud << ".." << e.last_ud << " hash " << std::hex << e.cqe_hash << std::dec << ")";
  s << " submit ";
  if (e.submit_ret == trace::no_submit)
    s << "-";
  else
    s << e.submit_ret;
  s << " tail_after " << e.tail_after << " wait_out " << e.wait_out << " ret " << e.ret;
  return s.str();
}

trace::op random_op(rng& g, u32 profile, u32 sq) {
  trace::op o{};
  if (profile == 4) profile = g.below(4);
  o.mode = u8(g.below(4));
  o.wait = u8(g.below(4) == 0 ? g.below(64) : g.below(6));
  switch (profile) {
    case 0:  // batches
      o.nops = u8(g.below(trace::max_nops + 1));
      o.chain = 1;
      o.consume = u8(g.below(3) == 0 ? 255 : g.below(40));
      break;
    case 1:  // chains
      o.nops = u8(g.below(trace::max_nops + 1));
      o.chain = u8(2 + g.below(7));
      o.consume = u8(g.below(3) == 0 ? 255 : g.below(12));
      break;
    case 2:  // overflow: mostly filling, now and then draining
      o.nops = u8(g.below(2 * sq + 1) > trace::max_nops ? trace::max_nops : g.below(2 * sq + 1));
      o.chain = u8(g.one_in(4) ? 2 + g.below(3) : 1);
      o.consume = u8(g.one_in(5) ? 255 : 0);
      break;
    case 3:  // stop and invalid returns
      o.nops = u8(g.below(6));
      o.chain = u8(1 + g.below(3));
      o.consume = u8(g.below(4));
      o.act = u8(g.one_in(3) ? trace::act_stop : (g.one_in(8) ? trace::act_invalid : trace::act_continue));
      break;
  }
  return o;
}

trace_case make_case(u64 seed, u64 i) {
  rng g{seed * 1000003 + i};
  trace_case c;
  c.profile = u32(i % profile_count);
  c.ring.sq_entries = 2u << g.below(6);  // 2 .. 64
  if (c.profile == 2)
    c.ring.cq_entries = c.ring.sq_entries;  // as small as allowed
  else
    c.ring.cq_entries = g.below(2) ? 0 : c.ring.sq_entries << g.below(3);
  // Both SQ modes, each named in the case: SQ_REWIND (the default ring's,
  // Linux 7.1+) and head/tail.
  static const bool rewind = iouloop::probe().sq_rewind;
  c.ring.sq_rewind_where_supported = false;
  if (g.below(2) && rewind) c.ring.flags |= iouloop::abi::setup::sq_rewind;
  c.init.limit = 8 + g.below(trace::max_steps - 7);
  c.init.tidy = (i / profile_count) % 2;  // every other round of profiles
  for (u32 k = 0; k < trace::script_len; ++k) c.init.script[k] = random_op(g, c.profile, c.ring.sq_entries);
  return c;
}

struct trace_result {
  std::vector<int> runs;  // each run()'s result
  trace::params end;
};

template <class Engine, class... Extra>
trace_result run_trace(testwatch::case_watchdog& dog, const trace_case& c, Extra&&... extra) {
  dog.phase(Engine::name, "set-up");
  iouloop::ring r(c.ring);
  iouloop::param_region<trace::policy> p(c.init);
  p->cq_entries = r.layout().cq_entries;
  trace_result res;
  testwatch::case_watchdog::scoped_dump dump(dog, [&r, &p] {
    std::ostringstream o;
    o << "  ring: cq head " << r.cq_head() << " tail " << r.cq_tail() << " sq_flags 0x" << std::hex << r.sq_flags()
      << std::dec << "; steps " << p->steps << " run " << p->run << " submitted " << p->submitted << " completed "
      << p->completed << "\n";
    if (p->steps > 0 && p->steps <= trace::max_steps) o << "  last step: " << describe(p->trace[p->steps - 1]) << "\n";
    return o.str();
  });
  {
    Engine e(r, p, extra...);
    dog.phase(Engine::name, "run");
    for (u32 k = 0; k < 2 * trace::max_steps && p->steps < p->limit; ++k) {
      p->run = k;
      res.runs.push_back(e.run());
    }
    dog.phase(Engine::name, "tear-down");
  }
  res.end = *p;
  return res;
}

// Two KNOWN userspace-engine differences from the kernel loop, both in how
// much deferred task work one iteration runs after the step asked to sleep
// (include/iouloop/engine/userspace.hpp, run_blocked; reported to its
// maintainer). The kernel loop runs io_run_local_work_locked(ctx, nr_wait)
// with nr_wait = cq_wait_idx - tail (io_uring/loop.c): task-work items until
// nr_wait ran, at most max(20, nr_wait) a round. The userspace engine waits
// with io_uring_enter(GETEVENTS, min_complete = cq_wait_idx - head), and
// io_cqring_wait runs items until min_complete ran, with min_complete
// clamped to the CQ size. So it runs more when the step (a) left posted CQEs
// unconsumed (head < tail), and fewer when (b) it asked for more CQEs than
// the CQ holds. With linked NOPs pending, links complete at other times and
// CQEs come in another order. A difference after such a step is reported,
// not failed, unless IOULOOP_TRACE_STRICT=1; "tidy" cases never take such a
// step, and there every difference fails.
const char* known_difference(const trace::entry& e, u32 cq_entries) {
  if (e.ret != iouloop::loop_continue) return nullptr;
  const int nr_wait = int(e.wait_out - e.tail_after);
  const u32 unconsumed = e.tail_after - (e.head + e.consumed);
  if (nr_wait > 0 && unconsumed > 0)
    return "asked to sleep with posted CQEs unconsumed (engine: cq_wait_idx - head, kernel: cq_wait_idx - tail)";
  if (nr_wait > int(cq_entries))
    return "asked to sleep for more CQEs than the CQ holds (engine: clamped to the CQ size, kernel: not)";
  return nullptr;
}

struct difference {
  std::string text;      // "" when the traces agree
  bool known = false;    // after a step with a known_difference()
  bool clamped = false;  // ... and that is the "more CQEs than the CQ holds" one
};

difference compare(const trace_case& c, const trace_result& a, const char* a_name, const trace_result& b,
                   const char* b_name) {
  std::ostringstream o;
  difference d;
  const u32 steps = a.end.steps < b.end.steps ? a.end.steps : b.end.steps;
  int exposed = -1;  // the first step both took that may run into a known difference
  const char* why = nullptr;
  for (u32 s = 0; s < steps && s < trace::max_steps; ++s) {
    if (std::memcmp(&a.end.trace[s], &b.end.trace[s], sizeof(trace::entry)) != 0) break;
    if (exposed < 0 && (why = known_difference(a.end.trace[s], a.end.cq_entries))) exposed = int(s);
  }
  d.known = exposed >= 0;
  d.clamped = d.known && std::strstr(why, "CQ holds") != nullptr;
  if (d.known) o << "[KNOWN userspace-engine difference: step " << exposed << " " << why << "] ";
  for (u32 s = 0; s < steps && s < trace::max_steps; ++s) {
    if (std::memcmp(&a.end.trace[s], &b.end.trace[s], sizeof(trace::entry)) == 0) continue;
    o << "first differing step " << s << " (op: " << describe(c.init.script[s % trace::script_len]) << ")\n"
      << "    " << a_name << ": " << describe(a.end.trace[s]) << "\n"
      << "    " << b_name << ": " << describe(b.end.trace[s]) << "\n";
    if (s > 0) {
      o << "  the step before (op: " << describe(c.init.script[(s - 1) % trace::script_len]) << ")\n"
        << "    both: " << describe(a.end.trace[s - 1]) << "\n";
    }
    d.text = o.str();
    return d;
  }
  if (a.end.steps != b.end.steps) {
    o << "steps: " << a_name << " " << a.end.steps << ", " << b_name << " " << b.end.steps << "\n";
    d.text = o.str();
    return d;
  }
  if (a.runs != b.runs) {
    o << "run() results differ:";
    for (size_t k = 0; k < a.runs.size() || k < b.runs.size(); ++k) {
      if (k < a.runs.size() && k < b.runs.size() && a.runs[k] == b.runs[k]) continue;
      o << " run " << k << ": " << a_name << " " << (k < a.runs.size() ? std::to_string(a.runs[k]) : "-") << ", "
        << b_name << " " << (k < b.runs.size() ? std::to_string(b.runs[k]) : "-") << ";";
      break;
    }
    d.text = o.str() + "\n";
    return d;
  }
  if (a.end.submitted != b.end.submitted || a.end.completed != b.end.completed) {
    o << "end counters differ\n";
    d.text = o.str();
  } else {
    d.known = false;
  }
  return d;
}

// Both traces, step by step, up to the first difference and a few after.
std::string both_traces(const trace_case& c, const trace_result& u, const trace_result& b) {
  std::ostringstream o;
  const u32 steps = u.end.steps > b.end.steps ? u.end.steps : b.end.steps;
  int after = -1;
  for (u32 s = 0; s < steps && s < trace::max_steps && after < 3; ++s) {
    const bool same = std::memcmp(&u.end.trace[s], &b.end.trace[s], sizeof(trace::entry)) == 0;
    if (!same || after >= 0) after++;
    o << "  step " << s << (same ? "  " : " *") << " op: " << describe(c.init.script[s % trace::script_len]) << "\n";
    o << "      userspace: " << describe(u.end.trace[s]) << "\n";
    if (!same) o << "      bpf:       " << describe(b.end.trace[s]) << "\n";
  }
  return o.str();
}

struct settings {
  u64 seed, cases, only, profile;
};
settings read_settings(const char* what) {
  settings s;
  s.seed = env_u64("IOULOOP_TRACE_SEED", u64(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007);
  s.cases = env_u64("IOULOOP_TRACE_CASES", 200);
  s.only = env_u64("IOULOOP_TRACE_CASE", ~0ull);
  s.profile = ~0ull;
  if (const char* p = std::getenv("IOULOOP_TRACE_PROFILE"))
    for (u32 k = 0; k < profile_count; ++k)
      if (std::strcmp(p, profiles[k]) == 0) s.profile = k;
  std::printf("trace_diff: %s: seed %llu, %llu cases%s\n", what, s.seed, s.cases,
              s.only != ~0ull ? " (replaying one)" : "");
  std::fflush(stdout);
  return s;
}
bool selected(const settings& s, u64 i) {
  if (s.only != ~0ull) return i == s.only;
  return s.profile == ~0ull || i % profile_count == s.profile;
}
std::string replay(u64 seed, u64 i) {
  return "  replay: tools/vm/run.sh --env IOULOOP_TRACE_SEED=" + std::to_string(seed) +
         " --env IOULOOP_TRACE_CASE=" + std::to_string(i) + " bazel-bin/tests/fuzz/trace_diff_test_static";
}

const char* const same_engine_name = "per-step traces: the userspace engine gives the same trace twice";
const char* const engines_name = "per-step traces: userspace and BPF engines agree step by step";
}  // namespace

// The workloads are deterministic: one engine, run twice, gives one trace.
TEST_CASE(same_engine_name, "[trace]") {
  const settings s = read_settings("userspace twice");
  testwatch::case_watchdog dog("trace_diff", same_engine_name,
                               testwatch::limit_from_env("IOULOOP_TRACE_CASE_LIMIT", 20));
  u64 differences = 0;
  for (u64 i = 0; i < s.cases; ++i) {
    if (!selected(s, i)) continue;
    const trace_case c = make_case(s.seed, i);
    dog.start_case(i, describe(c), replay(s.seed, i));
    auto a = run_trace<iouloop::userspace_engine<trace::policy>>(dog, c);
    auto b = run_trace<iouloop::userspace_engine<trace::policy>>(dog, c);
    dog.end_case();
    difference d = compare(c, a, "first", b, "second");
    if (!d.text.empty()) {
      differences++;
      FAIL_CHECK("case " << i << ": " << describe(c) << ": " << d.text << replay(s.seed, i));
    }
  }
  REQUIRE(differences == 0);
}

TEST_CASE(engines_name, "[trace][bpf]") {
  require_bpf_engine();
  const settings s = read_settings("userspace vs bpf");
  testwatch::case_watchdog dog("trace_diff", engines_name, testwatch::limit_from_env("IOULOOP_TRACE_CASE_LIMIT", 20));
  const bool strict = env_u64("IOULOOP_TRACE_STRICT", 0) != 0;
  const bool verbose = env_u64("IOULOOP_TRACE_VERBOSE", 0) != 0;
  u64 differences = 0, known = 0, known_clamped = 0, ran = 0, steps = 0;
  u64 per_profile[profile_count] = {}, differing[profile_count] = {};
  for (u64 i = 0; i < s.cases; ++i) {
    if (!selected(s, i)) continue;
    const trace_case c = make_case(s.seed, i);
    dog.start_case(i, describe(c), replay(s.seed, i));
    auto u = run_trace<iouloop::userspace_engine<trace::policy>>(dog, c);
    auto b = run_trace<iouloop::bpf_engine<trace::policy>>(dog, c, trace_programs_bpf::programs::trace{});
    dog.end_case();
    ran++;
    steps += b.end.steps;
    per_profile[c.profile]++;
    difference d = compare(c, u, "userspace", b, "bpf");
    if (d.text.empty()) continue;
    differing[c.profile]++;
    if (d.known && !strict && !c.init.tidy) {
      known++;
      known_clamped += d.clamped;
      if (known <= 3 || verbose)
        std::printf("trace_diff: case %llu: %s: %s%s\n", i, describe(c).c_str(), d.text.c_str(),
                    replay(s.seed, i).c_str());
      continue;
    }
    differences++;
    FAIL_CHECK("case " << i << ": " << describe(c) << ": " << d.text << replay(s.seed, i));
    if (verbose) std::printf("%s", both_traces(c, u, b).c_str());
  }
  std::printf(
      "trace_diff: seed %llu, %llu cases (%llu steps), %llu differ: %llu unexplained, %llu after the KNOWN "
      "userspace-engine differences (%llu unconsumed CQEs, %llu wait beyond the CQ size; %s); by profile:",
      s.seed, ran, steps, differences + known, differences, known, known - known_clamped, known_clamped,
      strict ? "IOULOOP_TRACE_STRICT=1: counted as failures" : "not failures; IOULOOP_TRACE_STRICT=1 fails them");
  for (u32 k = 0; k < profile_count; ++k) std::printf(" %s %llu/%llu", profiles[k], differing[k], per_profile[k]);
  std::printf("\n");
  std::fflush(stdout);
  REQUIRE(differences == 0);
}

// Once a known difference, now a rule both engines follow: 14 NOPs in
// chains of 4 (4 chain heads complete during submission, 4 second links
// wait in deferred task work), nothing consumed, and a wait for 2 more CQEs
// beyond the tail. The kernel loop does not sleep while local work is
// pending and runs io_run_local_work_locked(ctx, nr_wait = 2): one round of
// the 4 pending links, tail 8 (io_uring/loop.c io_loop_wait,
// __io_run_loop). The userspace engine used to wait with min_complete =
// cq_wait_idx - head = 6 (two rounds, tail 11); it now runs the pending work
// with min_complete = nr_wait and a zero timeout, as the kernel does.
TEST_CASE("per-step traces: pending task work with unconsumed CQEs runs nr_wait items, as in the kernel",
          "[trace][bpf]") {
  require_bpf_engine();
  trace_case c;
  c.profile = 1;
  c.ring.sq_entries = 64;
  c.init.limit = 2;
  c.init.script[0] = trace::op{14, 4, 0, 2, trace::wait_from_tail, trace::act_continue, {}};
  c.init.script[1] = trace::op{0, 1, 0, 0, trace::wait_behind, trace::act_stop, {}};
  testwatch::case_watchdog dog("trace_diff", "known difference",
                               testwatch::limit_from_env("IOULOOP_TRACE_CASE_LIMIT", 20));
  dog.start_case(0, describe(c), "");
  auto u = run_trace<iouloop::userspace_engine<trace::policy>>(dog, c);
  auto b = run_trace<iouloop::bpf_engine<trace::policy>>(dog, c, trace_programs_bpf::programs::trace{});
  dog.end_case();
  difference d = compare(c, u, "userspace", b, "bpf");
  INFO(d.text);
  CHECK(b.end.trace[1].tail == 8);  // what the kernel does
  CHECK(u.end.trace[1].tail == b.end.trace[1].tail);
}

// The other KNOWN difference, as one fixed case: two chains of 8 linked
// NOPs on a ring whose CQ holds 8, everything consumed, then a wait for all
// 11 CQEs still to come. The kernel loop runs 11+ task-work items (into the
// CQ and its overflow list); the userspace engine's min_complete is
// clamped to the CQ size, so it runs 8 and leaves the rest pending. The next
// steps see the same 8 CQEs, then different tails. The case checks that
// the engines still differ, and in that way (docs/semantics.md, known
// difference F): it fails when they agree, so that the documentation and
// this case are brought up to date together.
TEST_CASE("per-step traces: KNOWN userspace-engine difference: a wait beyond the CQ size runs less task work",
          "[trace][bpf]") {
  require_bpf_engine();
  trace_case c;
  c.profile = 1;
  c.ring.sq_entries = 8;
  c.ring.cq_entries = 8;
  c.init.limit = 5;
  c.init.script[0] = trace::op{8, 8, 0, 0, trace::wait_behind, trace::act_continue, {}};
  c.init.script[1] = trace::op{8, 8, 255, 0, trace::wait_behind, trace::act_continue, {}};
  c.init.script[2] = trace::op{0, 1, 255, 200, trace::wait_from_tail, trace::act_continue, {}};
  c.init.script[3] = trace::op{0, 1, 255, 0, trace::wait_behind, trace::act_continue, {}};
  c.init.script[4] = trace::op{0, 1, 0, 0, trace::wait_behind, trace::act_stop, {}};
  testwatch::case_watchdog dog("trace_diff", "known difference",
                               testwatch::limit_from_env("IOULOOP_TRACE_CASE_LIMIT", 20));
  dog.start_case(0, describe(c), "");
  auto u = run_trace<iouloop::userspace_engine<trace::policy>>(dog, c);
  auto b = run_trace<iouloop::bpf_engine<trace::policy>>(dog, c, trace_programs_bpf::programs::trace{});
  dog.end_case();
  difference d = compare(c, u, "userspace", b, "bpf");
  INFO(d.text << both_traces(c, u, b));
  if (d.text.empty())
    FAIL(
        "the engines agree on this case now: known difference F is gone; drop it from docs/semantics.md and "
        "known_difference(), and make this case require agreement");
  CHECK(d.known);    // the difference shows after a step known_difference() names ...
  CHECK(d.clamped);  // ... the wait beyond the CQ size, the userspace engine's min_complete clamped
}
