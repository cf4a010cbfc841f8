// Who may run the BPF engine, and what everyone else is told. Each case drops
// capabilities in a forked child (capset, PR_CAPBSET_DROP, setresuid: raw
// syscalls) and checks the message. The BPF cases need the VM (kernel 7.2.13
// with io_uring_bpf_ops, run as root); the probe and RLIMIT_MEMLOCK cases run
// on the host too.
#include <sys/mount.h>
#include <sys/resource.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <memory>
#include <fstream>
#include <sstream>
#include <string>

#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/select.hpp"
#include "iouloop/probe.hpp"
#include "tests/support/census.hpp"
#include "tests/support/files.hpp"
#include "tests/support/privileges.hpp"

using Catch::Matchers::ContainsSubstring;
using namespace iouloop;

namespace {

void require_kernel_ops() {
  probe_result pr = probe();
  if (!pr.bpf_ops || !pr.kfunc_submit_sqes) SKIP("kernel " << pr.kernel << " lacks io_uring_bpf_ops (the VM has them)");
  if (!pr.bpf_engine()) FAIL("the BPF engine should run here as root: " << pr.bpf_engine_problem());
}

// What a process sees trying the BPF engine, the automatic choice and the
// probe; runs nop on whatever it may.
std::string try_everything() {
  std::ostringstream o;
  o << "caps: " << privileges::now().relevant() << "\n";
  try {
    iouloop::ring r;
    param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
    bpf_engine<nop::policy> e(r, p, nop_bpf::programs::nop{});
    o << "bpf_engine: run " << e.run() << " completed " << p->completed << "\n";
  } catch (const error& e) {
    o << "bpf_engine: " << e.what() << "\n";
  }
  try {
    choose_engine(engine_kind::bpf);
    o << "--engine bpf: chosen\n";
  } catch (const error& e) {
    o << "--engine bpf: " << e.what() << "\n";
  }
  engine_choice c = choose_engine(engine_kind::automatic);
  o << "auto: " << c.describe() << "\n";
  iouloop::ring r;
  param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
  any_engine<nop::policy> e(c, r, p, nop_bpf::programs::nop{});
  o << "auto run " << e.run() << " completed " << p->completed << "\n";
  o << "json: " << to_json(probe()) << "\n";
  return o.str();
}

// The kernel's own answer, with iouloop's pre-check out of the way: open,
// configure and load the object directly.
std::string kernel_load() {
  try {
    iouloop::ring r;
    param_region<nop::policy> p;
    iouloop::bpf_object obj(nop_bpf::image(), "nop");
    obj.configure(r, reinterpret_cast<u64>(p.data()));
    obj.load();
    bpf_attachment a(obj.struct_ops_map(), "nop");
    return "loaded and attached";
  } catch (const error& e) {
    return "code " + std::to_string(e.code()) + ": " + e.what();
  }
}

using testfiles::read_int;
using testfiles::write_int;

}  // namespace

TEST_CASE("without CAP_BPF the BPF engine names it, and auto falls back to the userspace engine saying why",
          "[privileges][bpf]") {
  require_kernel_ops();
  child_result r = in_child([] {
    if (!drop_capabilities({caps::bpf, caps::sys_admin})) return std::string("capset failed");
    return try_everything();
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  // nop's ring variant: the child's ring has the shape it was compiled for.
  CHECK_THAT(r.out, ContainsSubstring("bpf_engine: cannot load BPF program 'nop_ring64x128_step' of nop_bpf: this "
                                      "process lacks CAP_BPF (BTF load and the struct_ops map"));
  CHECK_THAT(r.out, ContainsSubstring("[EPERM"));
  CHECK_THAT(r.out, ContainsSubstring("setcap cap_bpf,cap_perfmon+ep"));
  CHECK_THAT(r.out, ContainsSubstring("--engine bpf: the BPF engine cannot run here: this process lacks CAP_BPF"));
  CHECK_THAT(r.out, ContainsSubstring("auto: userspace (kernel 7."));
  CHECK_THAT(r.out, ContainsSubstring("BPF engine unavailable: this process lacks CAP_BPF"));
  CHECK_THAT(r.out, ContainsSubstring("auto run 0 completed 100"));
  CHECK_THAT(r.out, ContainsSubstring("\"cap_bpf\": false"));
  CHECK_THAT(r.out, ContainsSubstring("\"bpf_engine\": false"));
  CHECK_THAT(r.out, ContainsSubstring("\"bpf_privilege_problem\": \"this process lacks CAP_BPF"));
}

TEST_CASE("without CAP_PERFMON the BPF engine names it", "[privileges][bpf]") {
  require_kernel_ops();
  child_result r = in_child([] {
    if (!drop_capabilities({caps::perfmon, caps::sys_admin})) return std::string("capset failed");
    return try_everything();
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  // nop's ring variant: the child's ring has the shape it was compiled for.
  CHECK_THAT(r.out, ContainsSubstring("bpf_engine: cannot load BPF program 'nop_ring64x128_step' of nop_bpf: this "
                                      "process lacks CAP_PERFMON (a struct_ops program"));
  CHECK_THAT(r.out, ContainsSubstring("auto: userspace"));
  CHECK_THAT(r.out, ContainsSubstring("lacks CAP_PERFMON"));
  CHECK_THAT(r.out, ContainsSubstring("\"cap_perfmon\": false"));
  CHECK_THAT(r.out, ContainsSubstring("\"cap_bpf\": true"));
}

TEST_CASE("the kernel refuses as the source says: CAP_BPF and CAP_PERFMON each needed, EPERM named",
          "[privileges][bpf]") {
  require_kernel_ops();
  child_result no_bpf = in_child([] {
    drop_capabilities({caps::bpf, caps::sys_admin});
    return kernel_load();
  });
  child_result no_perfmon = in_child([] {
    drop_capabilities({caps::perfmon, caps::sys_admin});
    return kernel_load();
  });
  INFO(no_bpf.out << "\n" << no_perfmon.out);
  CHECK_THAT(no_bpf.out,
             ContainsSubstring("code 1: the kernel refused to load 'nop_step': this process lacks CAP_BPF"));
  CHECK_THAT(no_perfmon.out,
             ContainsSubstring("code 1: the kernel refused to load 'nop_step': this process lacks CAP_PERFMON"));
}

TEST_CASE(
    "CAP_BPF and CAP_PERFMON are enough, whatever kernel.unprivileged_bpf_disabled says; CAP_SYS_ADMIN "
    "alone stands in for both",
    "[privileges][bpf]") {
  require_kernel_ops();
  const char* sysctl = "/proc/sys/kernel/unprivileged_bpf_disabled";
  const int was = read_int(sysctl);
  INFO("kernel.unprivileged_bpf_disabled was " << was);
  // 1 is a one-way setting (bpf_unpriv_handler): only 0 and 2 are tried.
  for (int v : {0, 2}) {
    if (was == 1 && v != 1) continue;
    REQUIRE(write_int(sysctl, v));
    child_result enough = in_child([] {
      drop_capabilities({caps::sys_admin, caps::net_admin, caps::ipc_lock});
      return kernel_load() + " | " + try_everything();
    });
    child_result none = in_child([] {
      drop_capabilities({caps::bpf, caps::perfmon, caps::sys_admin});
      return kernel_load();
    });
    INFO("unprivileged_bpf_disabled=" << v << ": " << enough.out << "\n" << none.out);
    CHECK(enough.exited_ok());
    CHECK_THAT(enough.out, ContainsSubstring("loaded and attached |"));
    CHECK_THAT(enough.out, ContainsSubstring("bpf_engine: run 0 completed 100"));
    CHECK_THAT(enough.out, ContainsSubstring("auto: bpf"));
    CHECK_THAT(none.out, ContainsSubstring("lacks CAP_BPF"));
    CHECK_THAT(none.out, ContainsSubstring("and CAP_PERFMON"));
  }
  if (was >= 0 && was != 1) write_int(sysctl, was);
  child_result admin = in_child([] {
    drop_capabilities({caps::bpf, caps::perfmon});
    return kernel_load();
  });
  INFO(admin.out);
  CHECK(admin.out == "loaded and attached");
}

TEST_CASE("an unprivileged user is told which capabilities and where to go", "[privileges][bpf]") {
  require_kernel_ops();
  child_result r = in_child([] {
    if (!become_unprivileged()) return std::string("setresuid failed");
    return try_everything();
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  CHECK_THAT(r.out, ContainsSubstring("caps: none"));
  CHECK_THAT(r.out, ContainsSubstring("lacks CAP_BPF (BTF load and the struct_ops map: kernel/bpf/syscall.c "
                                      "bpf_btf_load, map_create) and CAP_PERFMON"));
  CHECK_THAT(r.out, ContainsSubstring("have a privileged loader attach the policy"));
  CHECK_THAT(r.out, ContainsSubstring("auto run 0 completed 100"));
}

TEST_CASE("the probe's JSON carries the privilege facts", "[privileges][probe]") {
  child_result r = in_child([] {
    drop_capabilities({caps::bpf, caps::sys_admin, caps::ipc_lock});
    struct rlimit rl{4096 * 3, 4096 * 3};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    return to_json(probe()) + "\n" + to_text(probe());
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  for (const char* key : {"\"privileges\": {", "\"cap_bpf\": false", "\"cap_perfmon\": ", "\"cap_sys_admin\": false",
                          "\"cap_net_admin\": ", "\"cap_ipc_lock\": false", "\"init_user_ns\": true",
                          "\"unprivileged_bpf_disabled\": ", "\"lockdown\": ", "\"memlock_limit\": 12288",
                          "\"bpf_privilege_problem\": \"this process lacks CAP_BPF", "\"bpf_engine\": false",
                          "RLIMIT_MEMLOCK 12288 bytes", "no   capabilities for the loop program"})
    CHECK_THAT(r.out, ContainsSubstring(key));
  const int sysctl = read_int("/proc/sys/kernel/unprivileged_bpf_disabled");
  CHECK_THAT(r.out, ContainsSubstring("\"unprivileged_bpf_disabled\": " + std::to_string(sysctl)));
}

// ---- RLIMIT_MEMLOCK --------------------------------------------------------
// The rings are not charged (io_uring/io_uring.c io_rings_free: "ring memory
// is not charged to RLIMIT_MEMLOCK"); the param region's pinned pages are,
// to the ring creator's user unless it had CAP_IPC_LOCK.

// Under a uid of its own (the limit is checked against what that user has
// pinned: other processes of the same user would count).
TEST_CASE("RLIMIT_MEMLOCK too low: named ENOMEM for the ring or the param region, nothing left behind",
          "[privileges][memlock]") {
  child_result r = in_child([] {
    std::ostringstream o;
    if (!become_unprivileged(50000 + unsigned(getpid()) % 10000)) return std::string("setresuid failed");
    struct rlimit rl{0, 1ul << 20};  // soft 0; the hard limit leaves room to raise it
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return std::string("setrlimit failed");
    census before = census::now();
    const std::string maps_before = maps_text();
    // The smallest limit (in pages) under which a ring can be made: 0 where
    // rings are not charged (7.2: io_allocate_scq_urings), more where they are.
    unsigned ring_pages = 0;
    for (; ring_pages <= 64; ++ring_pages) {
      struct rlimit l{ring_pages * 4096ul, 1ul << 20};
      setrlimit(RLIMIT_MEMLOCK, &l);
      try {
        iouloop::ring r;
        break;
      } catch (const error& e) {
        if (ring_pages == 0) o << "ring at 0: " << e.what() << "\n";
        if (e.code() != ENOMEM) return o.str() + "unexpected: " + e.what();
      }
    }
    o << "ring pages " << ring_pages << "\n";
    census mid = census::now();
    o << "census after refused rings " << (mid == before ? "same" : "differs") << "\n";
    {
      // A closed ring's pages are given back when its teardown runs, in a
      // work queue (io_ring_exit_work): until then they still count.
      std::unique_ptr<iouloop::ring> rp;
      for (int i = 0; !rp && i < 200; ++i) {
        try {
          rp = std::make_unique<iouloop::ring>();
        } catch (const error&) {
          ::usleep(10000);
        }
      }
      if (!rp) return o.str() + "the limit that allowed a ring does not allow it again";
      iouloop::ring& r = *rp;  // uses up the limit
      param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
      o << "register: " << p.try_register(r) << "\n";
      try {
        attached_loop<nop::policy> loop(r, p);
        o << "attached_loop: made\n";
      } catch (const error& e) {
        o << "attached_loop: " << e.what() << "\n";
      }
    }
    census after = census::now();
    o << "census " << (after == before ? "same" : "differs") << " before " << before << " after " << after << "\n";
    if (after != before) o << "mappings added:\n" << maps_added(maps_before, maps_text());
    // The userspace engine does not need the kernel to see the region: with
    // room for its rings (two: the loop's and its signal watcher's) it runs.
    struct rlimit l{3 * ring_pages * 4096ul, 1ul << 20};
    setrlimit(RLIMIT_MEMLOCK, &l);
    ::usleep(200000);  // the rings above are torn down
    iouloop::ring r;
    param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
    userspace_engine<nop::policy> e(r, p);
    o << "userspace run " << e.run() << " completed " << p->completed << "\n";
    return o.str();
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  if (r.out.find("ring pages 0") == std::string::npos)  // rings charged (the 6.18 host)
    CHECK_THAT(r.out, ContainsSubstring("ring at 0: io_uring_setup(64 entries, flags 0x13280) failed: out of locked "
                                        "memory (raise RLIMIT_MEMLOCK or use fewer entries) [ENOMEM"));
  CHECK_THAT(r.out, ContainsSubstring("census after refused rings same"));
  if (iouloop::probe().mem_region) {
    CHECK_THAT(r.out, ContainsSubstring("register: -12"));
    CHECK_THAT(r.out, ContainsSubstring("attached_loop: IORING_REGISTER_MEM_REGION of the 4096-byte param region "
                                        "failed: its pinned pages are charged to RLIMIT_MEMLOCK (now "));
    CHECK_THAT(r.out, ContainsSubstring("[ENOMEM"));
  } else {  // before 6.13 (Debian 13's 6.12): io_uring_register knows no such opcode
    CHECK_THAT(r.out, ContainsSubstring("register: -22"));
    CHECK_THAT(r.out, ContainsSubstring(
                          "attached_loop: IORING_REGISTER_MEM_REGION failed: the loop needs it (Linux 6.13+) [EINVAL"));
  }
  CHECK_THAT(r.out, ContainsSubstring("census same"));
  CHECK_THAT(r.out, ContainsSubstring("userspace run 0 completed 100"));
}

TEST_CASE("RLIMIT_MEMLOCK too low for the BPF engine: named ENOMEM, no fd, mapping or BPF object left",
          "[privileges][memlock][bpf]") {
  require_kernel_ops();
  child_result r = in_child([] {
    std::ostringstream o;
    drop_capabilities({caps::ipc_lock});
    struct rlimit rl{0, 0};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return std::string("setrlimit failed");
    census before = census::settled();
    const std::string maps_before = maps_text();
    {
      iouloop::ring r;
      param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
      try {
        bpf_engine<nop::policy> e(r, p, nop_bpf::programs::nop{});
        o << "bpf_engine: made\n";
      } catch (const error& e) {
        o << "bpf_engine: " << e.what() << "\n";
      }
      // The ring is untouched: no loop ops (rule 7), no region.
      o << "ring after: " << run_attached_loop(r.fd()) << "\n";
    }
    census after = census::until_within(before);
    o << "census " << (after == before ? "same" : "differs") << " before " << before << " after " << after << "\n";
    if (after != before) o << "mappings added:\n" << maps_added(maps_before, maps_text());
    // With room for exactly the region's page it works.
    struct rlimit one{4096, 4096};
    setrlimit(RLIMIT_MEMLOCK, &one);
    iouloop::ring r;
    param_region<nop::policy> p(nop::params{100, 8, 0, 0, 0});
    bpf_engine<nop::policy> e(r, p, nop_bpf::programs::nop{});
    o << "one page: run " << e.run() << " completed " << p->completed << "\n";
    return o.str();
  });
  INFO(r.out);
  REQUIRE(r.exited_ok());
  CHECK_THAT(r.out, ContainsSubstring("bpf_engine: IORING_REGISTER_MEM_REGION of the 4096-byte param region failed"));
  CHECK_THAT(r.out, ContainsSubstring("RLIMIT_MEMLOCK (now 0 bytes"));
  CHECK_THAT(r.out, ContainsSubstring("ring after: -14"));
  CHECK_THAT(r.out, ContainsSubstring("census same"));
  CHECK_THAT(r.out, ContainsSubstring("one page: run 0 completed 100"));
}

// Lockdown is one-way for a boot: this case raises it, so it runs only when
// asked (IOULOOP_TEST_LOCKDOWN=1), which tools/test.sh does in a VM boot of
// its own after the other VM tests.
TEST_CASE("lockdown (integrity, then confidentiality) does not stop the BPF engine", "[privileges][lockdown][bpf]") {
  if (!std::getenv("IOULOOP_TEST_LOCKDOWN"))
    SKIP("raises lockdown for the rest of the boot: set IOULOOP_TEST_LOCKDOWN=1");
  require_kernel_ops();
  ::mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr);
  for (const char* level : {"integrity", "confidentiality"}) {
    {
      std::ofstream f("/sys/kernel/security/lockdown");
      f << level;
    }
    privileges p = privileges::now();
    INFO("lockdown now " << p.lockdown);
    REQUIRE(p.lockdown == level);
    child_result r = in_child([] { return try_everything(); });
    INFO(r.out);
    CHECK_THAT(r.out, ContainsSubstring("bpf_engine: run 0 completed 100"));
    CHECK_THAT(r.out, ContainsSubstring(std::string("\"lockdown\": \"") + level + "\""));
  }
}
