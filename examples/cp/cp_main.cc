// iouloop cp: copy a file with several blocks in flight, on the best engine
// the kernel has (or the one asked for).
//
//   cp [--engine auto|userspace|bpf] [--block BYTES] [--depth N] [--unlinked | --serial] SRC DST
//   cp [--engine ...] --demo MIB      copy MIB of generated data, verify it
//
// --unlinked runs cp::unlinked_policy (the write once the read's CQE is
// seen) instead of cp::policy (a read linked to a write): cheaper on the BPF
// engine, dearer on the userspace engine (docs/cost.md, "The copy step").
// --serial runs cp::serial_policy: one request in flight (depth is then
// only the buffer's size in blocks), the shape of liburing's test/bpf_cp.c.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/common/bytes.hpp"
#include "examples/common/cli.hpp"
#include "iouloop/engine/select.hpp"

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--engine auto|userspace|bpf] [--block BYTES] [--depth N] [--unlinked | --serial] SRC DST\n"
               "       %s [--engine ...] [--block BYTES] [--depth N] [--unlinked | --serial] --demo MIB\n"
               "  block: 512 .. 16 MiB (default 65536); depth: 1 .. %u (default 16)\n"
               "  --unlinked: submit each write once its read has completed, without a link\n"
               "  --serial: one request at a time (read, then write what was read), as liburing's bpf_cp\n",
               argv0, argv0, cp::max_depth);
  return 2;
}

std::vector<unsigned char> demo_bytes(size_t n) { return iouloop_examples::pattern(n, 1); }

struct copy_result {
  int ret;
  double secs;
  iouloop::u64 copied;
  iouloop::u32 redone;
  std::string why;  // iouloop::describe() of a failure
};

// One copy with Policy (cp::policy or cp::unlinked_policy, its BPF program
// `program`) on the chosen engine.
template <class Policy, class Program>
copy_result copy(const iouloop::engine_choice& choice, int in, int out, iouloop::u64 size, iouloop::uaddr bufs,
                 iouloop::u32 block, iouloop::u32 depth, Program program) {
  iouloop::ring ring;
  iouloop::param_region<Policy> params(cp::make_params(in, out, size, bufs, block, depth));
  iouloop::any_engine<Policy> e(choice, ring, params, program);
  auto t0 = std::chrono::steady_clock::now();
  copy_result r{};
  r.ret = e.run();
  r.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.copied = params->copied;
  r.redone = params->redone;
  if (r.ret < 0) r.why = iouloop::describe(e.exit(), r.ret);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string engine = "auto";
  unsigned long block = 65536, depth = 16, demo_mib = 0;
  bool unlinked = false, serial = false;
  std::vector<std::string> paths;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const char* flag) { return example::value_of(argc, argv, i, flag); };
      if (a == "--engine")
        engine = value("--engine");
      else if (a == "--block")
        block = example::number("--block", value("--block"));
      else if (a == "--depth")
        depth = example::number("--depth", value("--depth"));
      else if (a == "--unlinked")
        unlinked = true;
      else if (a == "--serial")
        serial = true;
      else if (a == "--demo")
        demo_mib = example::number("--demo", value("--demo"));
      else if (a == "-h" || a == "--help")
        return usage(argv[0]);
      else if (!a.empty() && a[0] == '-')
        throw iouloop::error(EINVAL, "unknown option " + a);
      else
        paths.push_back(a);
    }
    if (block < 512 || block > (16ul << 20))
      throw iouloop::error(EINVAL, "--block " + std::to_string(block) + " is outside 512 .. 16777216");
    if (depth < 1 || depth > cp::max_depth)
      throw iouloop::error(EINVAL,
                           "--depth " + std::to_string(depth) + " is outside 1 .. " + std::to_string(cp::max_depth));
    if (unlinked && serial)
      throw iouloop::error(EINVAL, "--unlinked and --serial are two shapes of the copy: choose one");
    if (demo_mib ? !paths.empty() : paths.size() != 2) return usage(argv[0]);

    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());

    std::string src, dst;
    std::vector<unsigned char> expect;
    if (demo_mib) {
      const char* tmp = std::getenv("TMPDIR");
      std::string dir = tmp ? tmp : "/tmp";
      src = dir + "/iouloop-demo-src";
      dst = dir + "/iouloop-demo-dst";
      expect = demo_bytes(demo_mib << 20);
      int fd = ::open(src.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || ::write(fd, expect.data(), expect.size()) != ssize_t(expect.size()))
        throw iouloop::error(errno, "cannot write the demo input " + src);
      ::close(fd);
      std::printf("demo: %lu MiB of generated data, %s -> %s\n", demo_mib, src.c_str(), dst.c_str());
    } else {
      src = paths[0];
      dst = paths[1];
    }

    // Owners: whatever throws below, nothing is leaked.
    iouloop::unique_fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw iouloop::error(errno, "cannot open " + src + " for reading");
    struct stat st{};
    ::fstat(in.get(), &st);
    if (!S_ISREG(st.st_mode)) throw iouloop::error(EINVAL, src + " is not a regular file");
    iouloop::unique_fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) throw iouloop::error(errno, "cannot open " + dst + " for writing");
    iouloop::mapping bufs = iouloop::mapping::anonymous(block * depth, "the copy buffers");

    const copy_result r =
        serial ? copy<cp::serial_policy>(choice, in.get(), out.get(), iouloop::u64(st.st_size), bufs.user_addr(),
                                         iouloop::u32(block), iouloop::u32(depth), cp_bpf::programs::cp_serial{})
        : unlinked
            ? copy<cp::unlinked_policy>(choice, in.get(), out.get(), iouloop::u64(st.st_size), bufs.user_addr(),
                                        iouloop::u32(block), iouloop::u32(depth), cp_bpf::programs::cp_unlinked{})
            : copy<cp::policy>(choice, in.get(), out.get(), iouloop::u64(st.st_size), bufs.user_addr(),
                               iouloop::u32(block), iouloop::u32(depth), cp_bpf::programs::cp{});
    if (r.ret == -EINTR) throw iouloop::error(EINTR, "interrupted after " + std::to_string(r.copied) + " bytes");
    if (r.ret < 0) throw iouloop::error(-r.ret, "copy failed after " + std::to_string(r.copied) + " bytes: " + r.why);
    if (::fsync(out.get()) != 0) throw iouloop::error(errno, "fsync of " + dst + " failed");
    std::printf("copied %llu bytes in %.3f s (%.1f MiB/s), block %lu, depth %lu, %u blocks redone%s\n",
                (unsigned long long)r.copied, r.secs, r.copied / 1048576.0 / (r.secs > 0 ? r.secs : 1e-9), block, depth,
                r.redone,
                serial     ? ", serial"
                : unlinked ? ", unlinked"
                           : "");
    if (demo_mib) {
      int fd = ::open(dst.c_str(), O_RDONLY);
      std::vector<unsigned char> got(expect.size() + 1);
      ssize_t n = fd < 0 ? -1 : ::read(fd, got.data(), got.size());
      if (fd >= 0) ::close(fd);
      got.resize(n < 0 ? 0 : size_t(n));
      ::unlink(src.c_str());
      ::unlink(dst.c_str());
      if (got != expect) throw iouloop::error(EIO, "demo: the copy differs from the source");
      std::printf("demo: output verified byte for byte\n");
    }
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "cp: %s\n", e.what());
    return 1;
  }
}
