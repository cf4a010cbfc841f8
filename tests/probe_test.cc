// The probe against independent evidence: the raw bytes of the kernel's BTF
// and the kernel's own answers. Runs on the host (where this kernel lacks
// io_uring_bpf_ops) and in the VM (where it has them).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "iouloop/probe.hpp"

namespace {
std::string slurp(const char* path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
bool has_name(const std::string& btf, const std::string& name) {
  return btf.find(std::string(1, '\0') + name + std::string(1, '\0')) != std::string::npos;
}
}  // namespace

TEST_CASE("the probe's BTF answers agree with the BTF's string table", "[probe]") {
  const std::string btf = slurp("/sys/kernel/btf/vmlinux");
  if (btf.empty()) SKIP("no /sys/kernel/btf/vmlinux on this kernel");
  iouloop::probe_result r = iouloop::probe();
  INFO(iouloop::to_text(r));
  REQUIRE(r.btf);
  REQUIRE(r.bpf_ops == has_name(btf, "io_uring_bpf_ops"));
  REQUIRE(r.kfunc_submit_sqes == has_name(btf, "bpf_io_uring_submit_sqes"));
  REQUIRE(r.kfunc_get_region == has_name(btf, "bpf_io_uring_get_region"));
  // The reader walks every type: a name it must find on any kernel.
  iouloop::detail::btf_names names = iouloop::detail::read_btf_names("/sys/kernel/btf/vmlinux");
  REQUIRE(iouloop::detail::contains(names.structs, "task_struct"));
  REQUIRE(iouloop::detail::contains(names.structs, "io_ring_ctx"));
}

// In the VM, IOULOOP_EXPECT_BPF_OPS=0 marks the kernel matrix's kernels
// without the ops (tools/test.sh, stage "kernels": 7.0, 6.12).
TEST_CASE("the probe says what this kernel is: the host lacks the ops, the VM has them", "[probe]") {
  iouloop::probe_result r = iouloop::probe();
  INFO(iouloop::to_text(r));
  REQUIRE(r.io_uring);
  REQUIRE(r.defer_taskrun);
  const char* expect = std::getenv("IOULOOP_EXPECT_BPF_OPS");
  const bool vm_without = expect && std::string(expect) == "0";
  if (vm_without) {
    REQUIRE_FALSE(r.bpf_ops);
    REQUIRE_FALSE(r.bpf_engine());
  }
  if (std::getenv("IOULOOP_IN_VM") && !vm_without) {
    REQUIRE(r.bpf_engine());
    REQUIRE(r.bpf_engine_problem().empty());
    REQUIRE(r.sq_rewind);
  } else if (!r.bpf_ops) {
    REQUIRE_FALSE(r.bpf_engine());
    REQUIRE_THAT(r.bpf_engine_problem(), Catch::Matchers::ContainsSubstring("io_uring_bpf_ops"));
    // IORING_SETUP_SQ_REWIND came in 7.0, one release before the loop
    // feature: the matrix's 7.0 has it, 6.12 and the host's 6.18 do not.
    unsigned major = 0;
    REQUIRE(std::sscanf(r.kernel.c_str(), "%u.", &major) == 1);
    REQUIRE(r.sq_rewind == (major >= 7));
  }
}

// The limit is io_recvmsg_prep's (io_uring/net.c) sqe->optlen for a
// multishot IORING_OP_RECV, merged for Linux 6.17; before it, the same field
// was file_index there and non-zero meant -EINVAL. The version number is the
// independent evidence here; the probe itself never reads it.
TEST_CASE("the probe says whether a multishot recv takes a total limit: Linux 6.17 and later", "[probe]") {
  iouloop::probe_result r = iouloop::probe();
  INFO(iouloop::to_text(r));
  unsigned major = 0, minor = 0;
  REQUIRE(std::sscanf(r.kernel.c_str(), "%u.%u", &major, &minor) == 2);
  const bool expected = major > 6 || (major == 6 && minor >= 17);
  REQUIRE(r.recv_total_limit == expected);
  REQUIRE(iouloop::kernel_has_recv_total_limit() == expected);
  REQUIRE(iouloop::kernel_has_recv_total_limit() == expected);  // the cached answer
}

TEST_CASE("the probe's JSON carries every field", "[probe]") {
  iouloop::probe_result r = iouloop::probe();
  std::string j = iouloop::to_json(r);
  for (const char* key :
       {"\"kernel\"", "\"io_uring_disabled\"", "\"io_uring\"", "\"defer_taskrun\"", "\"no_sqarray\"", "\"sq_rewind\"",
        "\"mem_region\"", "\"recv_total_limit\"", "\"io_uring_bpf_ops\"", "\"kfunc_submit_sqes\"",
        "\"kfunc_get_region\"", "\"bpf_load\"", "\"bpf_engine\"", "\"privileges\"", "\"cap_bpf\"", "\"cap_perfmon\"",
        "\"unprivileged_bpf_disabled\"", "\"lockdown\"", "\"memlock_limit\""})
    REQUIRE_THAT(j, Catch::Matchers::ContainsSubstring(key));
  REQUIRE(j.front() == '{');
  REQUIRE(j.back() == '}');
  REQUIRE_THAT(
      j, Catch::Matchers::ContainsSubstring(std::string("\"bpf_engine\": ") + (r.bpf_engine() ? "true" : "false")));
}
