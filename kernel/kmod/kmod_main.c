// SPDX-License-Identifier: GPL-2.0
/*
 * iouloop_kmod: io_uring loop_step callbacks compiled as native kernel code.
 *
 * /dev/iouloop attaches a compiled-in loop step to a ring given its fd
 * (iouloop_kmod_uapi.h), with the checks of the kernel's io_install_bpf. It
 * installs a module-owned struct io_uring_bpf_ops in ctx->bpf_ops, so that
 * BPF attach to the same ring says -EBUSY and ring close ejects it through
 * the kernel's own io_unregister_bpf_ops (kernel/README.md, "The kernel
 * module"). The unexported symbols it needs are found through kallsyms.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/io_uring_types.h>

#include "iouloop/kmod_uapi.h"
#include "iouloop/kmod_step.h"

typedef unsigned long (*kallsyms_lookup_name_t)(const char* name);

/*
 * kallsyms_lookup_name is not exported since 5.7. A kprobe registered by
 * symbol name resolves the address through kallsyms; its .addr is then the
 * function's address. The probe is unregistered at once.
 */
static kallsyms_lookup_name_t find_kallsyms_lookup_name(void) {
  struct kprobe kp = {.symbol_name = "kallsyms_lookup_name"};
  unsigned long addr;

  if (register_kprobe(&kp) < 0) return NULL;
  addr = (unsigned long)kp.addr;
  unregister_kprobe(&kp);
  return (kallsyms_lookup_name_t)addr;
}

/* The unexported symbols, resolved at load time. */
static struct {
  const char* name;
  unsigned long addr;
} syms[] = {
    {"io_submit_sqes"},        /* the kernel's submit path (io_uring/io_uring.c) */
    {"io_uring_ctx_get_file"}, /* fd -> io_uring file, fops checked (io_uring/io_uring.c) */
    {"io_bpf_ctrl_mutex"},     /* the lock io_install_bpf/io_unregister_bpf_ops take (static) */
};

enum { SYM_SUBMIT_SQES, SYM_CTX_GET_FILE, SYM_CTRL_MUTEX };

/*
 * Restated from io_uring/loop.h and io_uring/bpf-ops.h, which no headers
 * package ships: nothing checks these copies against the kernel (fragile).
 */
struct iou_loop_params {
  __u32 cq_wait_idx;
};
enum { IOU_LOOP_CONTINUE = 0, IOU_LOOP_STOP };
struct io_uring_bpf_ops {
  int (*loop_step)(struct iou_ctx*, struct iou_loop_params* lp);
  __u32 ring_fd;
  void* priv;
};

static int submit_sqes(struct io_ring_ctx* ctx, unsigned int nr) {
  return ((int (*)(struct io_ring_ctx*, unsigned int))syms[SYM_SUBMIT_SQES].addr)(ctx, nr);
}
static struct file* ctx_get_file(unsigned int fd) {
  return ((struct file * (*)(unsigned int, bool)) syms[SYM_CTX_GET_FILE].addr)(fd, false);
}
static struct mutex* ctrl_mutex(void) { return (struct mutex*)syms[SYM_CTRL_MUTEX].addr; }

static size_t region_size(const struct io_mapped_region* r) { return (size_t)r->nr_pages << PAGE_SHIFT; }

/*
 * The C stand-in for examples/nop's nop::policy: reap every CQE (count it,
 * and its errors), stop once `total` completed, else keep `depth` NOPs in
 * flight and wait for one completion. Rings and SQEs through the ring's
 * kernel pointers, params at the start of the registered param region.
 */
struct nop_params {
  u32 total, depth, submitted, completed, errors;
};

static int nop_c_step(struct iou_ctx* lctx, struct iou_loop_params* lp) {
  struct io_ring_ctx* ctx = (struct io_ring_ctx*)lctx;
  struct io_rings* r = ctx->rings;
  struct nop_params* p = ctx->param_region.ptr;
  u32 head, tail, sq_tail, n = 0;

  /* Checked at attach; the region cannot shrink while registered. */
  if (unlikely(!p)) return -EINVAL;
  head = READ_ONCE(r->cq.head);
  tail = smp_load_acquire(&r->cq.tail);
  while (head != tail) {
    struct io_uring_cqe* c = &r->cqes[head & r->cq_ring_mask];
    p->completed++;
    if (c->res < 0) p->errors++;
    head++;
  }
  smp_store_release(&r->cq.head, head);
  if (p->completed >= p->total) return IOU_LOOP_STOP;

  sq_tail = READ_ONCE(r->sq.tail);
  while (p->submitted < p->total && p->submitted - p->completed < p->depth &&
         sq_tail - READ_ONCE(r->sq.head) < ctx->sq_entries) {
    struct io_uring_sqe* s = &ctx->sq_sqes[sq_tail & r->sq_ring_mask];
    memset(s, 0, sizeof(*s));
    s->opcode = IORING_OP_NOP;
    s->user_data = ((u64)p->submitted << 8) | 1; /* nop::ud::make(tag::nop, n) */
    p->submitted++;
    sq_tail++;
    n++;
  }
  if (n) {
    smp_store_release(&r->sq.tail, sq_tail);
    submit_sqes(ctx, n);
  }
  lp->cq_wait_idx = head + 1;
  return IOU_LOOP_CONTINUE;
}

int iouloop_kmod_submit_sqes(void* ctx, unsigned int nr) { return submit_sqes(ctx, nr); }

/*
 * One attachment. atts and every ops.priv are under io_bpf_ctrl_mutex;
 * ops.priv == NULL means the kernel ejected it on ring close (the ctx may be
 * gone: never touched again), and the entry is freed on the next visit.
 */
struct iouloop_att {
  struct io_uring_bpf_ops ops;
  struct list_head node;
  struct iouloop_ring_layout layout;        /* for the C++ policies */
  const struct iouloop_kmod_policy* policy; /* NULL: the C stand-in */
  u64 params_uaddr;
};

/* A policy compiled as kernel code (policies.cc): the attachment says which. */
static int cxx_step(struct iou_ctx* lctx, struct iou_loop_params* lp) {
  struct io_ring_ctx* ctx = (struct io_ring_ctx*)lctx;
  struct iouloop_att* a = container_of(ctx->bpf_ops, struct iouloop_att, ops);
  struct iouloop_kmod_step_args args = {
      .ctx = ctx,
      .rings = (unsigned char*)ctx->rings,
      .sqes = (unsigned char*)ctx->sq_sqes,
      .region = ctx->param_region.ptr,
      .region_bytes = region_size(&ctx->param_region),
      .params_uaddr = a->params_uaddr,
      .layout = &a->layout,
      .cq_wait_idx = &lp->cq_wait_idx,
  };
  return a->policy->step(&args);
}

static void fill_layout(struct iouloop_ring_layout* l, struct io_ring_ctx* ctx) {
  l->sq_head = offsetof(struct io_rings, sq.head);
  l->sq_tail = offsetof(struct io_rings, sq.tail);
  l->sq_flags = offsetof(struct io_rings, sq_flags);
  l->sq_array = 0; /* NO_SQARRAY rings only (checked at attach) */
  l->cq_head = offsetof(struct io_rings, cq.head);
  l->cq_tail = offsetof(struct io_rings, cq.tail);
  l->cq_cqes = offsetof(struct io_rings, cqes);
  l->cq_overflow = offsetof(struct io_rings, cq_overflow);
  l->sq_entries = ctx->sq_entries;
  l->cq_entries = ctx->cq_entries;
  l->rings_size = region_size(&ctx->ring_region);
  l->sqes_size = region_size(&ctx->sq_region);
  l->setup_flags = ctx->flags;
}
static LIST_HEAD(atts);

static void reap_ejected_locked(void) {
  struct iouloop_att *a, *t;
  list_for_each_entry_safe(a, t, &atts, node) {
    if (!a->ops.priv) {
      list_del(&a->node);
      kfree(a);
    }
  }
}

/* Under io_bpf_ctrl_mutex, with a->ops.priv set: the ctx is alive (its
 * release path takes the same mutex before ejecting). */
static void eject_locked(struct iouloop_att* a) {
  struct io_ring_ctx* ctx = a->ops.priv;
  mutex_lock(&ctx->uring_lock);
  /* A running loop holds uring_lock while it is in the step; it reads
   * loop_step again before the next one and ends with -EFAULT. */
  WRITE_ONCE(ctx->loop_step, NULL);
  ctx->bpf_ops = NULL;
  a->ops.priv = NULL;
  mutex_unlock(&ctx->uring_lock);
}

static int attach(const struct iouloop_kmod_attach* req) {
  struct io_ring_ctx* ctx;
  struct iouloop_att* a;
  struct file* file;
  int ret = 0;

  const struct iouloop_kmod_policy* policy = NULL;
  size_t need, i;

  if (req->reserved || strnlen(req->policy, sizeof(req->policy)) == sizeof(req->policy)) return -EINVAL;
  if (!strcmp(req->policy, "nop_c")) {
    need = sizeof(struct nop_params);
    if (req->params_bytes != sizeof(struct nop_params)) return -ESTALE;
  } else {
    for (i = 0; i < iouloop_kmod_policy_count && !policy; i++)
      if (!strcmp(req->policy, iouloop_kmod_policies[i].name)) policy = &iouloop_kmod_policies[i];
    if (!policy) return -ENOENT;
    if (req->params_bytes != policy->params_bytes || req->region_bytes != policy->region_bytes) return -ESTALE;
    need = policy->region_bytes;
  }
  /* Built from other sources than the host (the list, its policies, the
   * library, this module): the layouts may differ where the sizes agree. */
  if (req->fingerprint != iouloop_kmod_fingerprint) return -ESTALE;
  file = ctx_get_file(req->ring_fd);
  if (IS_ERR(file)) return PTR_ERR(file);
  ctx = file->private_data;
  a = kzalloc(sizeof(*a), GFP_KERNEL);
  if (!a) {
    fput(file);
    return -ENOMEM;
  }
  a->ops.loop_step = policy ? cxx_step : nop_c_step;
  a->policy = policy;
  a->params_uaddr = req->params_uaddr;
  a->ops.ring_fd = req->ring_fd;

  mutex_lock(ctrl_mutex());
  reap_ejected_locked();
  mutex_lock(&ctx->uring_lock);
  /* io_install_bpf's checks, and the ones a native step relies on. */
  if (ctx->flags & (IORING_SETUP_SQPOLL | IORING_SETUP_IOPOLL))
    ret = -EOPNOTSUPP;
  else if (!(ctx->flags & IORING_SETUP_DEFER_TASKRUN))
    ret = -EOPNOTSUPP;
  else if (ctx->flags & (IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQE_MIXED))
    ret = -EOPNOTSUPP;
  else if (ctx->bpf_ops || ctx->loop_step)
    ret = -EBUSY;
  else if (policy && !(ctx->flags & IORING_SETUP_NO_SQARRAY))
    ret = -EOPNOTSUPP;
  else if (!ctx->param_region.ptr || region_size(&ctx->param_region) < need)
    ret = -EINVAL;
  if (!ret) {
    fill_layout(&a->layout, ctx);
    a->ops.priv = ctx;
    ctx->bpf_ops = &a->ops;
    WRITE_ONCE(ctx->loop_step, a->ops.loop_step);
    list_add(&a->node, &atts);
  }
  mutex_unlock(&ctx->uring_lock);
  mutex_unlock(ctrl_mutex());
  if (ret) kfree(a);
  fput(file);
  return ret;
}

static int detach(unsigned int fd) {
  struct iouloop_att* a;
  struct file* file;
  int ret = -ENOENT;

  file = ctx_get_file(fd);
  if (IS_ERR(file)) return PTR_ERR(file);
  mutex_lock(ctrl_mutex());
  reap_ejected_locked();
  list_for_each_entry(a, &atts, node) {
    if (a->ops.priv == file->private_data) {
      eject_locked(a);
      list_del(&a->node);
      kfree(a);
      ret = 0;
      break;
    }
  }
  mutex_unlock(ctrl_mutex());
  fput(file);
  return ret;
}

static long iouloop_ioctl(struct file* f, unsigned int cmd, unsigned long arg) {
  struct iouloop_kmod_attach req;

  switch (cmd) {
    case IOULOOP_KMOD_IOC_VERSION:
      return IOULOOP_KMOD_VERSION;
    case IOULOOP_KMOD_IOC_ATTACH:
      if (copy_from_user(&req, (void __user*)arg, sizeof(req))) return -EFAULT;
      return attach(&req);
    case IOULOOP_KMOD_IOC_DETACH:
      return detach((unsigned int)arg);
    default:
      return -ENOTTY;
  }
}

static const struct file_operations iouloop_fops = {
    .owner = THIS_MODULE,
    .unlocked_ioctl = iouloop_ioctl,
};

static struct miscdevice iouloop_dev = {
    .minor = MISC_DYNAMIC_MINOR,
    .name = "iouloop",
    .fops = &iouloop_fops,
    .mode = 0600,
};

static int __init iouloop_init(void) {
  kallsyms_lookup_name_t lookup = find_kallsyms_lookup_name();
  size_t i;

  if (!lookup) {
    pr_err("iouloop: kallsyms_lookup_name not found through a kprobe (CONFIG_KPROBES?)\n");
    return -ENOENT;
  }
  for (i = 0; i < ARRAY_SIZE(syms); i++) {
    syms[i].addr = lookup(syms[i].name);
    if (!syms[i].addr) {
      pr_err("iouloop: symbol %s not found (a kernel without io_uring_bpf_ops, or renamed)\n", syms[i].name);
      return -ENOENT;
    }
    pr_info("iouloop: %s found\n", syms[i].name);
  }
  return misc_register(&iouloop_dev);
}

static void __exit iouloop_exit(void) { misc_deregister(&iouloop_dev); }

module_init(iouloop_init);
module_exit(iouloop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("iouloop: io_uring loop_step policies as native kernel callbacks");
