/* marker.h: mark a region of interest for the insn_count QEMU plugin, and
 * report it.
 *
 * The marker is `nopl 0x494Exxxx(%rax)` (bytes 0f 1f 80 xx xx 4e 49), a
 * 7-byte NOP with a 16-bit payload: it does nothing in the guest; the plugin
 * snapshots its per-vCPU user/kernel instruction counters when it executes.
 * Payload convention: 0x100 | id at the start of region `id`, 0x200 | id at
 * its end (id 0..255).
 *
 *   struct iou_region r;
 *   iou_region_begin(&r, id);       sleeps $IOUPERF_SETTLE_MS (300), reads /proc
 *                                   counters, the clock, then the marker
 *   ...work...
 *   iou_region_end(&r);             the marker, then the clock and /proc counters
 *   iou_region_report(&r, "label", ops);
 * prints
 *   @@iouperf region id=ID label=LABEL ops=N guest_ns=NS loc=A/B.. irq=.. ctxt=.. forks=..
 * guest_ns: CLOCK_MONOTONIC of the guest across the region; loc: local timer
 * interrupts per CPU, irq: all interrupts, ctxt: context switches, forks:
 * threads and processes created (io-wq workers among them), counted
 * from just before the start marker to just after the end marker.
 *
 * A program of your own, run by `bench/icount.sh --program LABEL=PATH`,
 * takes its region's id and label from the environment icount.sh gives it
 * ($IOUPERF_ID, $IOUPERF_LABEL):
 *   iou_region_begin_env(&r);  ...work...  iou_region_end(&r);
 *   iou_region_report_env(&r, ops);
 * Outside icount.sh (neither variable set) they use id 0 and the label
 * "unlabelled"; the markers are NOPs on any x86-64 CPU. An $IOUPERF_ID that
 * is not 0..255 ends the program (exit 2) with what is wrong. */
#ifndef IOUPERF_MARKER_H
#define IOUPERF_MARKER_H

#define IOU_MARK_CONST(p) \
  __asm__ __volatile__(".byte 0x0f,0x1f,0x80\n\t.long %c0" : : "i"(0x494E0000u | (p)) : "memory")

#ifdef __cplusplus
extern "C" {
#endif
/* A marker with a payload known only at run time (0x100..0x2ff). */
void iou_mark(unsigned payload);

#define IOU_MAX_CPUS 8
struct iou_sysload {
  unsigned long long loc[IOU_MAX_CPUS], irq, ctxt, forks;
  int ncpu;
};
struct iou_region {
  unsigned id;
  struct iou_sysload before, after;
  unsigned long long t0, t1;
};
void iou_region_begin(struct iou_region* r, unsigned id);
void iou_region_end(struct iou_region* r);
void iou_region_report(const struct iou_region* r, const char* label, unsigned long long ops);
void iou_region_begin_env(struct iou_region* r);
void iou_region_report_env(const struct iou_region* r, unsigned long long ops);
#ifdef __cplusplus
}
#endif
#endif
