// SPDX-License-Identifier: GPL-2.0
/*
 * iouloop_kmod: io_uring loop_step callbacks compiled as native kernel code.
 *
 * This first part only loads: it finds the unexported io_uring symbols the
 * attach path will need (kernel/README.md, "The kernel module") and offers
 * /dev/iouloop with a version ioctl. Attaching a policy to a ring is not
 * implemented yet (issue 15, part 2).
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "iouloop_kmod_uapi.h"

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

static long iouloop_ioctl(struct file* f, unsigned int cmd, unsigned long arg) {
  switch (cmd) {
    case IOULOOP_KMOD_IOC_VERSION:
      return IOULOOP_KMOD_VERSION;
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
