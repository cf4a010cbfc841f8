// Counts of what a test could leak: open fds, memory mappings (rings, param
// regions, buffers; not the C library's [heap]), and the BPF programs, maps
// and links that exist system-wide (the VM runs one test at a time).
//
// The kernel frees BPF objects asynchronously (after an RCU grace period, in
// a work queue), so a count taken right after a close can still include
// them: settled() waits until the counts stop moving, and
// until_within(before) until they come back, for a bounded time. A real leak
// never comes back and fails the comparison.
#pragma once

#include <bpf/bpf.h>
#include <dirent.h>
#include <sys/random.h>

#include <time.h>

#include <cerrno>
#include <cstdio>
#include <string>

// /proc/self/maps as it is now.
inline std::string maps_text() {
  std::string t;
  if (std::FILE* f = std::fopen("/proc/self/maps", "r")) {
    for (int ch; (ch = std::fgetc(f)) != EOF;) t += char(ch);
    std::fclose(f);
  }
  return t;
}

struct census {
  int fds = 0, mappings = 0, progs = 0, maps = 0, links = 0;
  bool operator==(const census&) const = default;

  static census now() {
    census c;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (readdir(d)) c.fds++;
      closedir(d);
      c.fds -= 1;  // the DIR's own fd
    }
    // Under AddressSanitizer its allocator maps memory as it goes: count
    // mappings only without it (ASan checks the heap itself).
#if !defined(__SANITIZE_ADDRESS__)
    // Not the C library's [heap]: malloc grows or starts it as it goes
    // (on a 7.2 build with Debian's config trimmed, kernel/test-kernel.sh,
    // a static test binary's first [heap] line appeared during a case and
    // read as a leaked mapping). Rings, regions and buffers are mmap()ed.
    const std::string maps = maps_text();
    for (std::string::size_type at = 0, end; (end = maps.find('\n', at)) != std::string::npos; at = end + 1)
      if (end - at < 6 || maps.compare(end - 6, 6, "[heap]") != 0) c.mappings++;
#endif
    c.progs = count(bpf_prog_get_next_id);
    c.maps = count(bpf_map_get_next_id);
    c.links = count(bpf_link_get_next_id);
    return c;
  }

  static census settled() {
    warm_up();
    census last = now();
    // Sleepable programs wait for an RCU tasks-trace grace period: give the
    // counts half a second of stillness.
    for (int stable = 0, i = 0; stable < 25 && i < 500; ++i) {
      nap();
      census c = now();
      stable = c == last ? stable + 1 : 0;
      last = c;
    }
    return last;
  }
  // No count above `want`'s (what was there before may be freed meanwhile).
  bool within(const census& want) const {
    return fds <= want.fds && mappings <= want.mappings && progs <= want.progs && maps <= want.maps &&
           links <= want.links;
  }
  // The counts once they are within `want`, or as they are after 10 s.
  static census until_within(const census& want) {
    census c = now();
    for (int i = 0; !c.within(want) && i < 500; ++i) {
      nap();
      c = now();
    }
    return c;
  }

 private:
  // What the C library maps once per thread, on first use, and keeps: not
  // ours to count. glibc 2.41+ on Linux 6.11+ gives each thread getrandom()
  // state in pages of its own (the vDSO getrandom), mapped the first time
  // the thread asks for random bytes - mkstemp does - and kept until it
  // exits: two mappings that showed up as a leak on Debian sid (glibc 2.42)
  // and never on bookworm (2.36, no vDSO getrandom).
  static void warm_up() {
    static const bool done = [] {
      unsigned char b[1];
      return getrandom(b, sizeof b, GRND_NONBLOCK) >= 0;
    }();
    (void)done;
  }
  static void nap() {
    struct timespec t{0, 20 * 1000 * 1000};
    nanosleep(&t, nullptr);
  }
  static int count(int (*next)(__u32, __u32*)) {
    int n = 0;
    __u32 id = 0;
    while (next(id, &id) == 0) n++;
    return n;
  }
};

#include <algorithm>
#include <ostream>
#include <sstream>
#include <vector>

// The lines of /proc/self/maps `after` has and `before` has not: what to
// print when a census finds more mappings than before, so that the failure
// names the mapping.
inline std::string maps_added(const std::string& before, const std::string& after) {
  auto lines = [](const std::string& t) {
    std::vector<std::string> v;
    std::istringstream in(t);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    std::sort(v.begin(), v.end());
    return v;
  };
  const std::vector<std::string> b = lines(before), a = lines(after);
  std::vector<std::string> added;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(added));
  std::string out;
  for (const std::string& l : added) out += "  + " + l + "\n";
  return out;
}

inline std::ostream& operator<<(std::ostream& o, const census& c) {
  return o << "{fds " << c.fds << ", mappings " << c.mappings << ", progs " << c.progs << ", maps " << c.maps
           << ", links " << c.links << "}";
}
