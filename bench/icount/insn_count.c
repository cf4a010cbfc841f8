/*
 * insn_count.c: a QEMU 7.2 TCG plugin (plugin API version 1) that counts
 * executed guest instructions per vCPU, split into user mode (vaddr below
 * 0x0000800000000000) and kernel mode (vaddr at or above 0xffff800000000000),
 * and writes a snapshot of all counters whenever the guest executes a marker:
 *
 *     nopl 0x494Exxxx(%rax)   = bytes 0f 1f 80 xx xx 4e 49   (xxxx: 16-bit payload)
 *
 * a 7-byte NOP that compilers never emit with that displacement: no side
 * effect in the guest, usable from user and kernel code alike. The payload
 * tags the snapshot; the analysis pairs snapshots into regions.
 *
 * Counting: mode=tb (default) adds a translation block's instruction count
 * when the block starts (one callback per block executed); mode=insn adds one
 * per instruction (a callback per instruction: slow, for cross-checking).
 * Rep-prefixed string instructions (rep movs/stos/...) run one TCG iteration
 * per element, each counted as one executed instruction; they are also
 * counted apart ("rep" columns) so that reports can show them separately.
 * A snapshot excludes the marker itself and whatever follows it in its block.
 *
 * Arguments: out=FILE (default stderr), mode=tb|insn, hist=N (diagnostic, tb
 * mode: per translation block execution counts; at each end marker the N
 * blocks with the most instructions in that region, as
 *   HIST id=ID rank=R vaddr=0x... n=INSNS_IN_BLOCK mode=M rep=0|1 execs=E insns=I).
 * Output lines:
 *   MARK seq=S payload=P vcpu=V host_ns=T cpu0=U,K,O,RU,RK ... cpuN=...
 *   FINAL host_ns=T cpu0=U,K,O,RU,RK ...
 * U/K/O: user/kernel/other (non-canonical) instructions; RU/RK: of those,
 * rep-string iterations in user/kernel mode.
 *
 * Build: gcc -O2 -shared -fPIC -I include $(pkg-config --cflags glib-2.0) \
 *            -o insn_count.so insn_count.c
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_VCPUS 64
#define MARK_MAGIC 0x494Eu /* high half of the marker's disp32 */

enum { M_USER, M_KERNEL, M_OTHER, M_N };

struct vcpu_counters {
  uint64_t insn[M_N];
  uint64_t rep[M_N];
} __attribute__((aligned(64))); /* one cache line per vCPU thread */

static struct vcpu_counters cnt[MAX_VCPUS];
static int nvcpus = 1;
static int per_insn;
static FILE* out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq;

/* hist=N: per-block statistics, keyed by (vaddr, size) */
struct tbstat {
  uint64_t key;
  uint64_t vaddr;
  uint32_t n;
  uint8_t mode, rep;
  uint64_t execs[MAX_VCPUS];
  uint64_t snap;
};
static int hist_top;
static GHashTable* tb_table;
static GMutex tb_lock;

/* Single writer per vCPU slot (its own thread); readers are other threads. */
static inline void bump(uint64_t* p, uint64_t n) {
  __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static int mode_of(uint64_t va) {
  if (va < 0x0000800000000000ull) return M_USER;
  if (va >= 0xffff800000000000ull) return M_KERNEL;
  return M_OTHER;
}

/* A rep/repne-prefixed string instruction (64-bit encodings). */
static int is_rep_string(const uint8_t* b, size_t n) {
  int rep = 0;
  size_t i = 0;
  for (; i < n; i++) {
    uint8_t c = b[i];
    if (c == 0xf2 || c == 0xf3)
      rep = 1;
    else if (c == 0xf0 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65 || c == 0x66 ||
             c == 0x67)
      continue;
    else
      break;
  }
  if (!rep) return 0;
  if (i < n && (b[i] & 0xf0) == 0x40) i++; /* REX */
  if (i >= n) return 0;
  uint8_t op = b[i];
  return (op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

static int marker_payload(const uint8_t* b, size_t n) {
  if (n != 7 || b[0] != 0x0f || b[1] != 0x1f || b[2] != 0x80) return -1;
  uint32_t disp = (uint32_t)b[3] | (uint32_t)b[4] << 8 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 24;
  return (disp >> 16) == MARK_MAGIC ? (int)(disp & 0xffff) : -1;
}

/* tb mode: udata = n_insns << 4 | n_rep << 2 | mode */
static void tb_exec(unsigned int vcpu, void* udata) {
  uintptr_t u = (uintptr_t)udata;
  if (vcpu >= MAX_VCPUS) return;
  bump(&cnt[vcpu].insn[u & 3], u >> 4);
  if (u & 0xc) bump(&cnt[vcpu].rep[u & 3], (u >> 2) & 3);
}

static void tb_exec_hist(unsigned int vcpu, void* udata) {
  struct tbstat* st = udata;
  if (vcpu >= MAX_VCPUS) return;
  bump(&cnt[vcpu].insn[st->mode], st->n);
  if (st->rep) bump(&cnt[vcpu].rep[st->mode], st->rep);
  bump(&st->execs[vcpu], 1);
}

static uint64_t tb_execs(const struct tbstat* st) {
  uint64_t e = 0;
  for (int c = 0; c < nvcpus && c < MAX_VCPUS; c++) e += __atomic_load_n(&st->execs[c], __ATOMIC_RELAXED);
  return e;
}

static void hist_snap(gpointer k, gpointer v, gpointer u) {
  (void)k, (void)u;
  struct tbstat* st = v;
  st->snap = tb_execs(st);
}

struct hist_acc {
  struct tbstat** v;
  uint64_t* insns;
  size_t len, cap;
};

static void hist_collect(gpointer k, gpointer v, gpointer u) {
  (void)k;
  struct tbstat* st = v;
  struct hist_acc* a = u;
  uint64_t d = tb_execs(st) - st->snap;
  if (!d) return;
  if (a->len == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 4096;
    a->v = g_realloc(a->v, a->cap * sizeof *a->v);
    a->insns = g_realloc(a->insns, a->cap * sizeof *a->insns);
  }
  a->v[a->len] = st;
  a->insns[a->len++] = d * st->n;
}

/* The region's top blocks, at its end marker (called with out_lock held). */
static void hist_dump(unsigned id) {
  struct hist_acc a = {0};
  g_mutex_lock(&tb_lock);
  g_hash_table_foreach(tb_table, hist_collect, &a);
  g_mutex_unlock(&tb_lock);
  for (int r = 0; r < hist_top && (size_t)r < a.len; r++) { /* partial selection sort: N is small */
    size_t best = (size_t)r;
    for (size_t i = (size_t)r + 1; i < a.len; i++)
      if (a.insns[i] > a.insns[best]) best = i;
    struct tbstat* ts = a.v[r];
    uint64_t ti = a.insns[r];
    a.v[r] = a.v[best], a.insns[r] = a.insns[best];
    a.v[best] = ts, a.insns[best] = ti;
    struct tbstat* st = a.v[r];
    fprintf(out, "HIST id=%u rank=%d vaddr=0x%" PRIx64 " n=%u mode=%u rep=%u execs=%" PRIu64 " insns=%" PRIu64 "\n", id,
            r, st->vaddr, st->n, st->mode, st->rep, a.insns[r] / st->n, a.insns[r]);
  }
  g_free(a.v);
  g_free(a.insns);
}

/* insn mode: udata = rep << 2 | mode */
static void insn_exec(unsigned int vcpu, void* udata) {
  uintptr_t u = (uintptr_t)udata;
  if (vcpu >= MAX_VCPUS) return;
  bump(&cnt[vcpu].insn[u & 3], 1);
  if (u & 4) bump(&cnt[vcpu].rep[u & 3], 1);
}

static void dump(const char* head, unsigned int vcpu, uintptr_t u) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  pthread_mutex_lock(&out_lock);
  fprintf(out, "%s", head);
  if (vcpu != ~0u) fprintf(out, " seq=%" PRIu64 " payload=%u vcpu=%u", seq++, (unsigned)(u >> 32), vcpu);
  fprintf(out, " host_ns=%" PRIu64, (uint64_t)((uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec));
  for (int c = 0; c < nvcpus && c < MAX_VCPUS; c++) {
    uint64_t v[M_N], r[M_N];
    for (int m = 0; m < M_N; m++) {
      v[m] = __atomic_load_n(&cnt[c].insn[m], __ATOMIC_RELAXED);
      r[m] = __atomic_load_n(&cnt[c].rep[m], __ATOMIC_RELAXED);
    }
    if ((unsigned)c == vcpu && !per_insn) {
      /* tb mode counted the marker's whole block at its start: take back the
       * marker and what follows it in the block */
      int m = u & 3;
      v[m] -= (u >> 4) & 0xfff;
      r[m] -= (u >> 2) & 1;
    }
    fprintf(out, " cpu%d=%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, c, v[M_USER], v[M_KERNEL],
            v[M_OTHER], r[M_USER], r[M_KERNEL]);
  }
  fputc('\n', out);
  if (hist_top && vcpu != ~0u) {
    unsigned payload = (unsigned)(u >> 32);
    if ((payload & 0x300) == 0x100) {
      g_mutex_lock(&tb_lock);
      g_hash_table_foreach(tb_table, hist_snap, NULL);
      g_mutex_unlock(&tb_lock);
    } else if ((payload & 0x300) == 0x200) {
      hist_dump(payload & 0xff);
    }
  }
  fflush(out);
  pthread_mutex_unlock(&out_lock);
}

/* marker: udata = payload << 32 | tail << 4 | rep_in_tail << 2 | mode */
static void mark_exec(unsigned int vcpu, void* udata) { dump("MARK", vcpu, (uintptr_t)udata); }

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  uintptr_t mode = (uintptr_t)mode_of(qemu_plugin_tb_vaddr(tb));
  uintptr_t nrep = 0;
  int last_rep = -1; /* a rep-string instruction ends its block in TCG; keep the last index */
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    if (is_rep_string(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn))) {
      nrep++;
      last_rep = (int)i;
    }
  }
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const uint8_t* b = qemu_plugin_insn_data(insn);
    size_t sz = qemu_plugin_insn_size(insn);
    int p = marker_payload(b, sz);
    if (p >= 0) {
      /* registered before the counting callback: in insn mode the snapshot
       * excludes the marker; in tb mode `tail` takes it back */
      uintptr_t tail = n - i, rep_tail = last_rep >= (int)i;
      qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec, QEMU_PLUGIN_CB_NO_REGS,
                                             (void*)((uintptr_t)p << 32 | (tail & 0xfff) << 4 | rep_tail << 2 | mode));
    }
    if (per_insn)
      qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec, QEMU_PLUGIN_CB_NO_REGS,
                                             (void*)((uintptr_t)is_rep_string(b, sz) << 2 | mode));
  }
  if (!per_insn && hist_top) {
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    uint64_t key = va ^ ((uint64_t)n << 52);
    g_mutex_lock(&tb_lock);
    struct tbstat* st = g_hash_table_lookup(tb_table, &key);
    if (!st) {
      st = g_new0(struct tbstat, 1);
      st->key = key;
      st->vaddr = va;
      st->n = (uint32_t)n;
      st->mode = (uint8_t)mode;
      st->rep = (uint8_t)nrep;
      g_hash_table_insert(tb_table, &st->key, st);
    }
    g_mutex_unlock(&tb_lock);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_hist, QEMU_PLUGIN_CB_NO_REGS, st);
  } else if (!per_insn) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void*)((uintptr_t)n << 4 | (nrep & 3) << 2 | mode));
  }
}

static void at_exit(qemu_plugin_id_t id, void* p) {
  (void)id, (void)p;
  dump("FINAL", ~0u, 0);
  if (out != stderr) fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  const char* path = NULL;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "out=", 4) == 0)
      path = argv[i] + 4;
    else if (strcmp(argv[i], "mode=insn") == 0)
      per_insn = 1;
    else if (strcmp(argv[i], "mode=tb") == 0)
      per_insn = 0;
    else if (strncmp(argv[i], "hist=", 5) == 0)
      hist_top = atoi(argv[i] + 5);
    else {
      fprintf(stderr, "insn_count: unknown argument %s (out=FILE, mode=tb|insn, hist=N)\n", argv[i]);
      return -1;
    }
  }
  out = path ? fopen(path, "w") : stderr;
  if (!out) {
    perror(path);
    return -1;
  }
  if (info->system_emulation) nvcpus = info->system.max_vcpus;
  fprintf(out, "START target=%s vcpus=%d mode=%s api=%d..%d\n", info->target_name, nvcpus, per_insn ? "insn" : "tb",
          info->version.min, info->version.cur);
  fflush(out);
  if (hist_top) tb_table = g_hash_table_new(g_int64_hash, g_int64_equal);
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
