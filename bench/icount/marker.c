/* marker.c: iou_mark(payload) for payloads 0x100..0x2ff (one compile-time
 * marker per payload behind a switch: a jump table, about a dozen user
 * instructions per marker), and the region helpers of marker.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "marker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define C1(n)          \
  case (n):            \
    IOU_MARK_CONST(n); \
    break;
#define C4(n) C1(n) C1((n) + 1) C1((n) + 2) C1((n) + 3)
#define C16(n) C4(n) C4((n) + 4) C4((n) + 8) C4((n) + 12)
#define C64(n) C16(n) C16((n) + 16) C16((n) + 32) C16((n) + 48)
#define C256(n) C64(n) C64((n) + 64) C64((n) + 128) C64((n) + 192)

void iou_mark(unsigned payload) {
  switch (payload) {
    C256(0x100)
    C256(0x200)
    default:
      break;
  }
}

static unsigned long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static struct iou_sysload sysload_read(void) {
  struct iou_sysload s;
  memset(&s, 0, sizeof s);
  char line[8192];
  FILE* f = fopen("/proc/interrupts", "r");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      char* p = line;
      while (*p == ' ') ++p;
      char* colon = strchr(p, ':');
      if (!colon) continue;
      int is_loc = strncmp(p, "LOC:", 4) == 0;
      int is_err = strncmp(p, "ERR:", 4) == 0 || strncmp(p, "MIS:", 4) == 0;
      char* q = colon + 1;
      for (;;) {
        char* end;
        unsigned long long v = strtoull(q, &end, 10);
        if (end == q) break;
        if (!is_err) s.irq += v;
        if (is_loc && s.ncpu < IOU_MAX_CPUS) s.loc[s.ncpu++] = v;
        q = end;
      }
    }
    fclose(f);
  }
  f = fopen("/proc/stat", "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "ctxt ", 5) == 0)
        s.ctxt = strtoull(line + 5, NULL, 10);
      else if (strncmp(line, "processes ", 10) == 0)
        s.forks = strtoull(line + 10, NULL, 10);
    fclose(f);
  }
  return s;
}

void iou_region_begin(struct iou_region* r, unsigned id) {
  /* Let deferred kernel work of the set-up (and of earlier programs: ring
   * teardown, BPF object release) finish before the region: sleep
   * $IOUPERF_SETTLE_MS (default 300) first. */
  const char* settle = getenv("IOUPERF_SETTLE_MS");
  unsigned ms = settle ? (unsigned)atoi(settle) : 300;
  if (ms) usleep(ms * 1000u);
  r->id = id & 0xffu;
  r->before = sysload_read();
  r->t0 = now_ns();
  iou_mark(0x100u | r->id);
}

void iou_region_end(struct iou_region* r) {
  iou_mark(0x200u | r->id);
  r->t1 = now_ns();
  r->after = sysload_read();
}

void iou_region_report(const struct iou_region* r, const char* label, unsigned long long ops) {
  const struct iou_sysload *b = &r->before, *a = &r->after;
  char loc[IOU_MAX_CPUS * 24] = "";
  size_t n = 0;
  for (int c = 0; c < a->ncpu && c < b->ncpu; c++)
    n += (size_t)snprintf(loc + n, sizeof loc - n, "%s%llu", c ? "/" : "", a->loc[c] - b->loc[c]);
  printf("@@iouperf region id=%u label=%s ops=%llu guest_ns=%llu loc=%s irq=%llu ctxt=%llu forks=%llu\n", r->id, label,
         ops, r->t1 - r->t0, loc, a->irq - b->irq, a->ctxt - b->ctxt, a->forks - b->forks);
  fflush(stdout);
}

void iou_region_begin_env(struct iou_region* r) {
  const char* v = getenv("IOUPERF_ID");
  unsigned long id = 0;
  if (v) {
    char* end = NULL;
    id = strtoul(v, &end, 10);
    if (!*v || *end || id > 255) {
      fprintf(stderr, "marker: IOUPERF_ID=%s: not a region id (0..255); bench/icount.sh sets it\n", v);
      exit(2);
    }
  }
  iou_region_begin(r, (unsigned)id);
}

void iou_region_report_env(const struct iou_region* r, unsigned long long ops) {
  const char* label = getenv("IOUPERF_LABEL");
  iou_region_report(r, label && *label ? label : "unlabelled", ops);
}
