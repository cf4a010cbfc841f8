/* selftest: checks the insn_count plugin against regions of known size.
 *   selftest-empty          nothing between the markers (marker overhead)
 *   selftest-loop-2000001   a user loop of exactly 2*1000000+1 instructions
 *   selftest-repmovsb-1MiB  one rep movsb of 1 MiB in user space
 *   selftest-getppid        10000 getppid() system calls
 * Usage: selftest BASE_ID (uses ids BASE..BASE+3). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench/icount/marker.h"

int main(int argc, char** argv) {
  unsigned base = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
  struct iou_region r;

  iou_region_begin(&r, base + 0);
  iou_region_end(&r);
  iou_region_report(&r, "selftest-empty", 1);

  iou_region_begin(&r, base + 1);
  __asm__ __volatile__("mov $1000000, %%ecx\n1:\tdec %%ecx\n\tjnz 1b" : : : "ecx", "cc");
  iou_region_end(&r);
  iou_region_report(&r, "selftest-loop-2000001", 1);

  size_t n = 1 << 20;
  char *a = malloc(n), *b = malloc(n);
  memset(a, 1, n);
  memset(b, 2, n);
  iou_region_begin(&r, base + 2);
  {
    void *d = a, *s = b;
    size_t c = n;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
  }
  iou_region_end(&r);
  iou_region_report(&r, "selftest-repmovsb-1MiB", 1);

  iou_region_begin(&r, base + 3);
  for (int i = 0; i < 10000; i++) syscall(SYS_getppid);
  iou_region_end(&r);
  iou_region_report(&r, "selftest-getppid", 10000);
  return a[0] == 2 ? 0 : 1;
}
