// iouloop/uapi.hpp — the Linux constants a policy passes and compares:
// errno values, socket, shutdown, msg, accept, timeout, poll and open flags, AT_FDCWD.
//
//   #include <iouloop/uapi.hpp>
//   using namespace iouloop;
//   if (c.res() == err::canceled) ...                // a cancelled request
//   if (c.res() < 0 && c.res() != err::again) ...    // a real failure
//   prep_accept_multishot(*s, fd, sock::cloexec, ud);
//   prep_send(*s, fd, buf, len, msg::nosignal, ud);
//   prep_poll_add(*s, fd, poll::in | poll::rdhup, false, ud);
//
// Names. Each family is a namespace named after its C prefix, lowercased,
// and each constant after the rest of its C name: EIO is err::io, SOCK_CLOEXEC
// sock::cloexec, AF_INET af::inet, SHUT_WR shut::wr, MSG_NOSIGNAL msg::nosignal,
// IORING_ACCEPT_MULTISHOT accept::multishot, IORING_TIMEOUT_ABS timeout::abs,
// POLLIN poll::in, O_DIRECT o::direct, AT_FDCWD at::fdcwd. The exceptions:
// E2BIG is err::too_big (a name cannot start with a digit), EWOULDBLOCK is
// err::wouldblock (= err::again), AF_UNIX is af::local (`unix` is a macro in
// GNU C++), IORING_LINK_TIMEOUT_UPDATE is timeout::link_update.
// (accept, poll and err are also libc functions: where both this header and
// using namespace iouloop are in scope, call those as ::poll, ::accept.)
//
// Errno values are NEGATIVE (s32), as io_uring reports them in cqe.res and
// as the kernel returns them: compare `c.res() == err::time` directly, store
// one as a negative result (`p.error = err::io`); -err::io is the positive
// errno EIO. Flags have the type of the SQE field they go in (u32 for
// msg_flags, accept flags, timeout_flags, poll32_events, open_flags, socket
// types; u16 for the accept ioprio flags; s32 for AT_FDCWD and socket
// domains, which go where an fd goes), so they combine with | and pass to the
// builders without casts.
//
// Where the values come from: the kernel's uapi headers (Linux 7.2):
// include/uapi/asm-generic/errno-base.h and errno.h, include/linux/socket.h
// (AF_*, MSG_*), include/linux/net.h and asm-generic/socket.h (SOCK_*),
// include/linux/net.h (SHUT_*: enum sock_shutdown_cmd),
// include/uapi/asm-generic/poll.h, include/uapi/asm-generic/fcntl.h,
// include/uapi/linux/fcntl.h (AT_*), include/uapi/linux/io_uring.h
// (IORING_ACCEPT_*, IORING_TIMEOUT_*). These are the values of x86-64, the
// architecture iouloop is built and tested on, and of most others; the
// open flags O_DIRECTORY, O_NOFOLLOW and O_DIRECT differ on arm, arm64 and
// powerpc (handled below: on the host by the compiler's architecture
// macros; a BPF object for an arm or arm64 kernel is compiled with
// -DIOULOOP_UAPI_ARM, for powerpc with -DIOULOOP_UAPI_POWERPC). Alpha, MIPS,
// PA-RISC and SPARC number errnos or socket flags differently: not supported.
// (O_LARGEFILE is left out: io_uring's openat sets it itself on 64-bit.)
// tests/uapi_test.cc checks every value against <errno.h>, <sys/socket.h>,
// <poll.h>, <fcntl.h> and <linux/io_uring.h> on the host.
//
// Like every header of :policy it includes nothing from libc and compiles
// for BPF.
#pragma once

#include "iouloop/abi.hpp"

#if defined(__alpha__) || defined(__mips__) || defined(__hppa__) || defined(__sparc__)
#error "iouloop/uapi.hpp: this architecture numbers errnos or socket flags differently from asm-generic"
#endif

namespace iouloop {

// ---- errno values, negative (cqe.res) --------------------------------------
namespace err {
inline constexpr s32 perm = -1;             // EPERM
inline constexpr s32 noent = -2;            // ENOENT: also a cancel that found nothing
inline constexpr s32 srch = -3;             // ESRCH
inline constexpr s32 intr = -4;             // EINTR
inline constexpr s32 io = -5;               // EIO
inline constexpr s32 nxio = -6;             // ENXIO
inline constexpr s32 too_big = -7;          // E2BIG
inline constexpr s32 badf = -9;             // EBADF
inline constexpr s32 child = -10;           // ECHILD
inline constexpr s32 again = -11;           // EAGAIN
inline constexpr s32 wouldblock = again;    // EWOULDBLOCK
inline constexpr s32 nomem = -12;           // ENOMEM
inline constexpr s32 acces = -13;           // EACCES
inline constexpr s32 fault = -14;           // EFAULT
inline constexpr s32 busy = -16;            // EBUSY
inline constexpr s32 exist = -17;           // EEXIST
inline constexpr s32 xdev = -18;            // EXDEV
inline constexpr s32 nodev = -19;           // ENODEV
inline constexpr s32 notdir = -20;          // ENOTDIR
inline constexpr s32 isdir = -21;           // EISDIR
inline constexpr s32 inval = -22;           // EINVAL
inline constexpr s32 nfile = -23;           // ENFILE
inline constexpr s32 mfile = -24;           // EMFILE
inline constexpr s32 notty = -25;           // ENOTTY
inline constexpr s32 fbig = -27;            // EFBIG
inline constexpr s32 nospc = -28;           // ENOSPC
inline constexpr s32 spipe = -29;           // ESPIPE
inline constexpr s32 rofs = -30;            // EROFS
inline constexpr s32 pipe = -32;            // EPIPE
inline constexpr s32 range = -34;           // ERANGE
inline constexpr s32 nametoolong = -36;     // ENAMETOOLONG
inline constexpr s32 nosys = -38;           // ENOSYS
inline constexpr s32 notempty = -39;        // ENOTEMPTY
inline constexpr s32 nodata = -61;          // ENODATA
inline constexpr s32 time = -62;            // ETIME: a timeout that expired
inline constexpr s32 overflow = -75;        // EOVERFLOW
inline constexpr s32 badfd = -77;           // EBADFD
inline constexpr s32 notsock = -88;         // ENOTSOCK
inline constexpr s32 destaddrreq = -89;     // EDESTADDRREQ
inline constexpr s32 msgsize = -90;         // EMSGSIZE
inline constexpr s32 prototype = -91;       // EPROTOTYPE
inline constexpr s32 noprotoopt = -92;      // ENOPROTOOPT
inline constexpr s32 protonosupport = -93;  // EPROTONOSUPPORT
inline constexpr s32 opnotsupp = -95;       // EOPNOTSUPP (= ENOTSUP)
inline constexpr s32 afnosupport = -97;     // EAFNOSUPPORT
inline constexpr s32 addrinuse = -98;       // EADDRINUSE
inline constexpr s32 addrnotavail = -99;    // EADDRNOTAVAIL
inline constexpr s32 netdown = -100;        // ENETDOWN
inline constexpr s32 netunreach = -101;     // ENETUNREACH
inline constexpr s32 connaborted = -103;    // ECONNABORTED
inline constexpr s32 connreset = -104;      // ECONNRESET
inline constexpr s32 nobufs = -105;         // ENOBUFS: also no buffer left in a provided group
inline constexpr s32 isconn = -106;         // EISCONN
inline constexpr s32 notconn = -107;        // ENOTCONN
inline constexpr s32 shutdown = -108;       // ESHUTDOWN
inline constexpr s32 timedout = -110;       // ETIMEDOUT
inline constexpr s32 connrefused = -111;    // ECONNREFUSED
inline constexpr s32 hostunreach = -113;    // EHOSTUNREACH
inline constexpr s32 already = -114;        // EALREADY: a cancel whose target is already running
inline constexpr s32 inprogress = -115;     // EINPROGRESS
inline constexpr s32 canceled = -125;       // ECANCELED: a cancelled request
}  // namespace err

// ---- sockets (socket(2), accept4(2); IORING_OP_SOCKET, IORING_OP_ACCEPT) ---
namespace af {                      // domains (where an fd goes: sqe.fd for IORING_OP_SOCKET)
inline constexpr s32 unspec = 0;    // AF_UNSPEC
inline constexpr s32 local = 1;     // AF_UNIX, AF_LOCAL
inline constexpr s32 inet = 2;      // AF_INET
inline constexpr s32 inet6 = 10;    // AF_INET6
inline constexpr s32 netlink = 16;  // AF_NETLINK
inline constexpr s32 packet = 17;   // AF_PACKET
}  // namespace af

namespace sock {                          // types, and the flags socket() and accept take
inline constexpr u32 stream = 1;          // SOCK_STREAM
inline constexpr u32 dgram = 2;           // SOCK_DGRAM
inline constexpr u32 raw = 3;             // SOCK_RAW
inline constexpr u32 rdm = 4;             // SOCK_RDM
inline constexpr u32 seqpacket = 5;       // SOCK_SEQPACKET
inline constexpr u32 nonblock = 04000;    // SOCK_NONBLOCK (= O_NONBLOCK)
inline constexpr u32 cloexec = 02000000;  // SOCK_CLOEXEC (= O_CLOEXEC)
}  // namespace sock

namespace shut {                // shutdown(2)'s `how` (sqe.len for IORING_OP_SHUTDOWN)
inline constexpr u32 rd = 0;    // SHUT_RD
inline constexpr u32 wr = 1;    // SHUT_WR: send a FIN, keep receiving
inline constexpr u32 rdwr = 2;  // SHUT_RDWR
}  // namespace shut

// sqe.ioprio of IORING_OP_ACCEPT (its accept4 flags, sqe.accept_flags, are
// sock::nonblock and sock::cloexec).
namespace accept {
inline constexpr u16 multishot = 1u << 0;   // IORING_ACCEPT_MULTISHOT
inline constexpr u16 dontwait = 1u << 1;    // IORING_ACCEPT_DONTWAIT
inline constexpr u16 poll_first = 1u << 2;  // IORING_ACCEPT_POLL_FIRST
}  // namespace accept

namespace msg {                                  // send/recv flags (sqe.msg_flags)
inline constexpr u32 oob = 0x1;                  // MSG_OOB
inline constexpr u32 peek = 0x2;                 // MSG_PEEK
inline constexpr u32 dontroute = 0x4;            // MSG_DONTROUTE
inline constexpr u32 ctrunc = 0x8;               // MSG_CTRUNC
inline constexpr u32 trunc = 0x20;               // MSG_TRUNC
inline constexpr u32 dontwait = 0x40;            // MSG_DONTWAIT
inline constexpr u32 eor = 0x80;                 // MSG_EOR
inline constexpr u32 waitall = 0x100;            // MSG_WAITALL
inline constexpr u32 confirm = 0x800;            // MSG_CONFIRM
inline constexpr u32 errqueue = 0x2000;          // MSG_ERRQUEUE
inline constexpr u32 nosignal = 0x4000;          // MSG_NOSIGNAL: a reset peer is -EPIPE, not SIGPIPE
inline constexpr u32 more = 0x8000;              // MSG_MORE
inline constexpr u32 waitforone = 0x10000;       // MSG_WAITFORONE
inline constexpr u32 zerocopy = 0x4000000;       // MSG_ZEROCOPY
inline constexpr u32 cmsg_cloexec = 0x40000000;  // MSG_CMSG_CLOEXEC
}  // namespace msg

// ---- timeouts (sqe.timeout_flags of TIMEOUT, LINK_TIMEOUT, TIMEOUT_REMOVE) --
namespace timeout {
inline constexpr u32 abs = 1u << 0;            // IORING_TIMEOUT_ABS
inline constexpr u32 update = 1u << 1;         // IORING_TIMEOUT_UPDATE
inline constexpr u32 boottime = 1u << 2;       // IORING_TIMEOUT_BOOTTIME
inline constexpr u32 realtime = 1u << 3;       // IORING_TIMEOUT_REALTIME
inline constexpr u32 link_update = 1u << 4;    // IORING_LINK_TIMEOUT_UPDATE
inline constexpr u32 etime_success = 1u << 5;  // IORING_TIMEOUT_ETIME_SUCCESS
inline constexpr u32 multishot = 1u << 6;      // IORING_TIMEOUT_MULTISHOT
}  // namespace timeout

// ---- poll events (sqe.poll32_events of IORING_OP_POLL_ADD) -----------------
namespace poll {
inline constexpr u32 in = 0x1;         // POLLIN
inline constexpr u32 pri = 0x2;        // POLLPRI
inline constexpr u32 out = 0x4;        // POLLOUT
inline constexpr u32 err = 0x8;        // POLLERR
inline constexpr u32 hup = 0x10;       // POLLHUP
inline constexpr u32 nval = 0x20;      // POLLNVAL
inline constexpr u32 rdnorm = 0x40;    // POLLRDNORM
inline constexpr u32 rdband = 0x80;    // POLLRDBAND
inline constexpr u32 wrnorm = 0x100;   // POLLWRNORM
inline constexpr u32 wrband = 0x200;   // POLLWRBAND
inline constexpr u32 msg = 0x400;      // POLLMSG
inline constexpr u32 remove = 0x1000;  // POLLREMOVE
inline constexpr u32 rdhup = 0x2000;   // POLLRDHUP: the peer shut down its writing side
}  // namespace poll

// ---- open flags (sqe.open_flags of IORING_OP_OPENAT) -----------------------
namespace o {
inline constexpr u32 rdonly = 0;          // O_RDONLY
inline constexpr u32 wronly = 01;         // O_WRONLY
inline constexpr u32 rdwr = 02;           // O_RDWR
inline constexpr u32 creat = 0100;        // O_CREAT
inline constexpr u32 excl = 0200;         // O_EXCL
inline constexpr u32 noctty = 0400;       // O_NOCTTY
inline constexpr u32 trunc = 01000;       // O_TRUNC
inline constexpr u32 append = 02000;      // O_APPEND
inline constexpr u32 nonblock = 04000;    // O_NONBLOCK
inline constexpr u32 dsync = 010000;      // O_DSYNC
inline constexpr u32 sync = 04010000;     // O_SYNC (= __O_SYNC | O_DSYNC)
inline constexpr u32 noatime = 01000000;  // O_NOATIME
inline constexpr u32 cloexec = 02000000;  // O_CLOEXEC
inline constexpr u32 path = 010000000;    // O_PATH
#if defined(__aarch64__) || defined(__arm__) || defined(IOULOOP_UAPI_ARM)
inline constexpr u32 directory = 040000;  // O_DIRECTORY (arch/arm64/include/uapi/asm/fcntl.h)
inline constexpr u32 nofollow = 0100000;  // O_NOFOLLOW
inline constexpr u32 direct = 0200000;    // O_DIRECT
#elif defined(__powerpc__) || defined(IOULOOP_UAPI_POWERPC)
inline constexpr u32 directory = 040000;  // O_DIRECTORY (arch/powerpc/include/uapi/asm/fcntl.h)
inline constexpr u32 nofollow = 0100000;  // O_NOFOLLOW
inline constexpr u32 direct = 0400000;    // O_DIRECT
#else
inline constexpr u32 directory = 0200000;  // O_DIRECTORY (asm-generic/fcntl.h)
inline constexpr u32 nofollow = 0400000;   // O_NOFOLLOW
inline constexpr u32 direct = 040000;      // O_DIRECT
#endif
inline constexpr u32 tmpfile = 020000000 | directory;  // O_TMPFILE
}  // namespace o

// ---- *at() calls ------------------------------------------------------------
namespace at {
inline constexpr s32 fdcwd = -100;              // AT_FDCWD: paths relative to the working directory
inline constexpr u32 symlink_nofollow = 0x100;  // AT_SYMLINK_NOFOLLOW
inline constexpr u32 removedir = 0x200;         // AT_REMOVEDIR (unlinkat)
inline constexpr u32 symlink_follow = 0x400;    // AT_SYMLINK_FOLLOW
inline constexpr u32 empty_path = 0x1000;       // AT_EMPTY_PATH
}  // namespace at

}  // namespace iouloop
