// iouloop/abi.hpp — the io_uring and io_uring_bpf_ops ABI, as iouloop uses it.
//
// Written from include/uapi/linux/io_uring.h (Linux 7.2) and the loop/bpf-ops
// sources. This header includes nothing: it must compile for the BPF target,
// where no libc or kernel headers are available. tests/abi_test.cc checks every
// layout here against the system's <linux/io_uring.h>.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error \
    "iouloop needs C++20: compile with -std=c++20 (Bazel: copts = [\"-std=c++20\"] or build --cxxopt=-std=c++20; CMake: set CMAKE_CXX_STANDARD 20)"
#endif

#define IOULOOP_INLINE inline __attribute__((always_inline))
// Unrolls the loop that follows completely (clang and GCC spell it apart).
#if defined(__clang__)
#define IOULOOP_UNROLL _Pragma("unroll")
#else
#define IOULOOP_UNROLL _Pragma("GCC unroll 64")
#endif

namespace iouloop {

using u8 = unsigned char;
using u16 = unsigned short;
using u32 = unsigned int;
using u64 = unsigned long long;
using s32 = int;
using s64 = long long;
using usize = __SIZE_TYPE__;

static_assert(sizeof(u16) == 2 && sizeof(u32) == 4 && sizeof(u64) == 8);

namespace abi {

// ---- io_uring_enter / io_uring_setup ---------------------------------------
namespace setup {
inline constexpr u32 iopoll = 1u << 0;
inline constexpr u32 sqpoll = 1u << 1;
inline constexpr u32 cqsize = 1u << 3;
inline constexpr u32 clamp = 1u << 4;
inline constexpr u32 r_disabled = 1u << 6;
inline constexpr u32 submit_all = 1u << 7;
inline constexpr u32 coop_taskrun = 1u << 8;
inline constexpr u32 taskrun_flag = 1u << 9;
inline constexpr u32 sqe128 = 1u << 10;
inline constexpr u32 cqe32 = 1u << 11;
inline constexpr u32 single_issuer = 1u << 12;
inline constexpr u32 defer_taskrun = 1u << 13;
inline constexpr u32 no_sqarray = 1u << 16;
inline constexpr u32 cqe_mixed = 1u << 18;  // Linux 6.18+
inline constexpr u32 sqe_mixed = 1u << 19;  // Linux 6.19+
inline constexpr u32 sq_rewind = 1u << 20;  // loop feature, Linux 7.1+
}  // namespace setup

namespace enter {
inline constexpr u32 getevents = 1u << 0;
inline constexpr u32 ext_arg = 1u << 3;
inline constexpr u32 registered_ring = 1u << 4;  // Linux 5.18+: fd is an index from register_ring_fds
inline constexpr u32 ext_arg_reg = 1u << 6;      // Linux 6.13+: argp is an offset into a registered wait region
}  // namespace enter

namespace sq_flag {  // io_uring_params.sq_off.flags word
inline constexpr u32 need_wakeup = 1u << 0;
inline constexpr u32 cq_overflow = 1u << 1;
inline constexpr u32 taskrun = 1u << 2;
}  // namespace sq_flag

namespace op {
inline constexpr u8 nop = 0;
inline constexpr u8 readv = 1;
inline constexpr u8 writev = 2;
inline constexpr u8 fsync = 3;
inline constexpr u8 poll_add = 6;
inline constexpr u8 timeout = 11;
inline constexpr u8 timeout_remove = 12;
inline constexpr u8 accept = 13;
inline constexpr u8 async_cancel = 14;
inline constexpr u8 link_timeout = 15;
inline constexpr u8 connect = 16;
inline constexpr u8 close = 19;
inline constexpr u8 read = 22;
inline constexpr u8 write = 23;
inline constexpr u8 send = 26;
inline constexpr u8 recv = 27;
inline constexpr u8 shutdown = 34;
inline constexpr u8 socket = 45;
}  // namespace op

namespace sqe_flag {
inline constexpr u8 fixed_file = 1u << 0;
inline constexpr u8 io_drain = 1u << 1;
inline constexpr u8 io_link = 1u << 2;
inline constexpr u8 io_hardlink = 1u << 3;
inline constexpr u8 async = 1u << 4;
inline constexpr u8 buffer_select = 1u << 5;
inline constexpr u8 cqe_skip_success = 1u << 6;
}  // namespace sqe_flag

namespace cqe_flag {
inline constexpr u32 buffer = 1u << 0;
inline constexpr u32 more = 1u << 1;
inline constexpr u32 sock_nonempty = 1u << 2;
inline constexpr u32 notif = 1u << 3;
inline constexpr u32 buf_more = 1u << 4;  // the buffer stays with the kernel (IOU_PBUF_RING_INC rings only)
inline constexpr u32 buffer_shift = 16;
}  // namespace cqe_flag

inline constexpr u16 accept_multishot = 1u << 0;  // sqe.ioprio for accept
inline constexpr u16 recv_multishot = 1u << 1;    // sqe.ioprio for recv
inline constexpr u16 recvsend_bundle = 1u << 4;   // sqe.ioprio for recv/send with buffer select
inline constexpr u32 poll_add_multi = 1u << 0;    // sqe.len for poll_add: multishot
// poll event bits (sqe.poll32_events), as <poll.h> defines them on Linux
namespace poll {
inline constexpr u32 in = 0x001;
inline constexpr u32 pri = 0x002;
inline constexpr u32 out = 0x004;
inline constexpr u32 err = 0x008;
inline constexpr u32 hup = 0x010;
inline constexpr u32 rdhup = 0x2000;
}  // namespace poll
inline constexpr u32 timeout_abs = 1u << 0;        // sqe.timeout_flags
inline constexpr u32 timeout_multishot = 1u << 6;  // sqe.timeout_flags

namespace feat {  // io_uring_params.features
inline constexpr u32 single_mmap = 1u << 0;
inline constexpr u32 recvsend_bundle = 1u << 14;  // Linux 6.10+
}  // namespace feat

// ---- register ---------------------------------------------------------------
inline constexpr u32 unregister_files = 3;
inline constexpr u32 register_files2 = 13;
inline constexpr u32 register_ring_fds = 20;  // Linux 5.18+: per thread, see rsrc_update
inline constexpr u32 unregister_ring_fds = 21;
// Or-ed into io_uring_register's opcode (Linux 6.3+): fd is an index from
// register_ring_fds.
inline constexpr u32 register_use_registered_ring = 1u << 31;
inline constexpr u32 register_pbuf_ring = 22;
inline constexpr u32 unregister_pbuf_ring = 23;
inline constexpr u32 register_mem_region = 34;
inline constexpr u32 mem_region_type_user = 1;

struct region_desc {
  u64 user_addr;
  u64 size;
  u32 flags;
  u32 id;
  u64 mmap_offset;
  u64 resv[4];
};
struct mem_region_reg {
  u64 region_uptr;
  u64 flags;
  u64 resv[2];
};

// IORING_REGISTER_FILES2's argument (struct io_uring_rsrc_register).
struct rsrc_register {
  u32 nr;
  u32 flags;  // rsrc_register_sparse: nr empty slots
  u64 resv2;
  u64 data;
  u64 tags;
};
inline constexpr u32 rsrc_register_sparse = 1u << 0;
// IORING_(UN)REGISTER_RING_FDS's argument (struct io_uring_rsrc_update):
// offset ~0u asks the kernel for a free index and gets it back in offset;
// data is the ring's fd.
struct rsrc_update {
  u32 offset;
  u32 resv;
  u64 data;
};
// sqe.file_index for a direct accept/open: the kernel picks a free slot and
// returns it in res (the only choice for a multishot accept).
inline constexpr u32 file_index_alloc = ~0u;

// IORING_REGISTER_PBUF_RING's argument. flags: pbuf_ring_mmap (the kernel
// allocates the ring; iouloop never sets it), pbuf_ring_inc.
struct buf_reg {
  u64 ring_addr;
  u32 ring_entries;
  u16 bgid;
  u16 flags;
  u32 min_left;  // Linux 7.x: incremental rings only, else 0
  u32 resv[5];
};
inline constexpr u16 pbuf_ring_mmap = 1;
inline constexpr u16 pbuf_ring_inc = 2;

// ---- the loop (io_uring/loop.c) --------------------------------------------
inline constexpr int loop_continue = 0;
inline constexpr int loop_stop = 1;

inline constexpr u32 region_mem = 0;  // the param region (IORING_REGISTER_MEM_REGION)
inline constexpr u32 region_cq = 1;   // the rings: SQ/CQ heads and tails, CQEs
inline constexpr u32 region_sq = 2;   // the SQE array

// ---- shared memory layouts -------------------------------------------------
struct sqe {
  u8 opcode;
  u8 flags;
  u16 ioprio;
  s32 fd;
  u64 off;   // also addr2
  u64 addr;  // also splice_off_in
  u32 len;
  u32 op_flags;  // rw_flags, msg_flags, timeout_flags, accept_flags, ...
  u64 user_data;
  u16 buf_index;  // also buf_group
  u16 personality;
  u32 file_index;  // also splice_fd_in
  u64 addr3;
  u64 pad2;
};
static_assert(sizeof(sqe) == 64);

struct cqe {
  u64 user_data;
  s32 res;
  u32 flags;
};
static_assert(sizeof(cqe) == 16);

struct sqring_offsets {
  u32 head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
  u64 user_addr;
};
struct cqring_offsets {
  u32 head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
  u64 user_addr;
};

// One entry of a provided buffer ring (struct io_uring_buf). The ring's
// tail is the `resv` of entry 0 (struct io_uring_buf_ring overlays them).
struct buf {
  u64 addr;
  u32 len;
  u16 bid;
  u16 resv;
};
static_assert(sizeof(buf) == 16);

struct kernel_timespec {
  s64 tv_sec;
  s64 tv_nsec;
};

// io_uring_getevents_arg: io_uring_enter's argument with
// IORING_ENTER_EXT_ARG (a signal mask to wait with, a timeout).
struct getevents_arg {
  u64 sigmask;
  u32 sigmask_sz;
  u32 min_wait_usec;
  u64 ts;  // a kernel_timespec*, or 0
};
static_assert(sizeof(getevents_arg) == 24);

struct iovec {  // the kernel's struct iovec on 64-bit
  u64 base;
  u64 len;
};

}  // namespace abi
}  // namespace iouloop

// Guarded C macros for the two setup flags bookworm's <linux/io_uring.h> (6.1)
// lacks, for code that mixes iouloop with liburing or raw syscalls. Only names
// the kernel's uapi header itself spells as #define get a fallback here: a
// macro named like an enumerator (IORING_REGISTER_MEM_REGION and
// IORING_MEM_REGION_TYPE_USER are enum values in 7.x headers; IOU_LOOP_* and
// IOU_REGION_* are kernel enums) would rewrite the header's enum when it is
// included after this one. Use abi::register_mem_region,
// abi::mem_region_type_user, abi::loop_continue/loop_stop and abi::region_*.
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif
#ifndef IORING_SETUP_SQ_REWIND
#define IORING_SETUP_SQ_REWIND (1U << 20)
#endif
