// iouloop/uapi.hpp against the system's libc and kernel uapi headers: every
// constant, its value and its type.
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch_test_macros.hpp>
#include <type_traits>

#include "iouloop/uapi.hpp"

namespace u = iouloop;

// A negative errno: -E.
#define ERRNO(ours, E)                                                  \
  STATIC_REQUIRE(std::is_same_v<decltype(u::err::ours), const u::s32>); \
  STATIC_REQUIRE(u::err::ours == -E)
// A flag or number of type T.
#define SAME(T, ours, C)                                         \
  STATIC_REQUIRE(std::is_same_v<decltype(u::ours), const u::T>); \
  STATIC_REQUIRE(u::ours == C)

TEST_CASE("errno values are <errno.h>'s, negative, as s32", "[uapi]") {
  ERRNO(perm, EPERM);
  ERRNO(noent, ENOENT);
  ERRNO(srch, ESRCH);
  ERRNO(intr, EINTR);
  ERRNO(io, EIO);
  ERRNO(nxio, ENXIO);
  ERRNO(too_big, E2BIG);
  ERRNO(badf, EBADF);
  ERRNO(child, ECHILD);
  ERRNO(again, EAGAIN);
  ERRNO(wouldblock, EWOULDBLOCK);
  ERRNO(nomem, ENOMEM);
  ERRNO(acces, EACCES);
  ERRNO(fault, EFAULT);
  ERRNO(busy, EBUSY);
  ERRNO(exist, EEXIST);
  ERRNO(xdev, EXDEV);
  ERRNO(nodev, ENODEV);
  ERRNO(notdir, ENOTDIR);
  ERRNO(isdir, EISDIR);
  ERRNO(inval, EINVAL);
  ERRNO(nfile, ENFILE);
  ERRNO(mfile, EMFILE);
  ERRNO(notty, ENOTTY);
  ERRNO(fbig, EFBIG);
  ERRNO(nospc, ENOSPC);
  ERRNO(spipe, ESPIPE);
  ERRNO(rofs, EROFS);
  ERRNO(pipe, EPIPE);
  ERRNO(range, ERANGE);
  ERRNO(nametoolong, ENAMETOOLONG);
  ERRNO(nosys, ENOSYS);
  ERRNO(notempty, ENOTEMPTY);
  ERRNO(nodata, ENODATA);
  ERRNO(time, ETIME);
  ERRNO(overflow, EOVERFLOW);
  ERRNO(badfd, EBADFD);
  ERRNO(notsock, ENOTSOCK);
  ERRNO(destaddrreq, EDESTADDRREQ);
  ERRNO(msgsize, EMSGSIZE);
  ERRNO(prototype, EPROTOTYPE);
  ERRNO(noprotoopt, ENOPROTOOPT);
  ERRNO(protonosupport, EPROTONOSUPPORT);
  ERRNO(opnotsupp, EOPNOTSUPP);
  ERRNO(opnotsupp, ENOTSUP);
  ERRNO(afnosupport, EAFNOSUPPORT);
  ERRNO(addrinuse, EADDRINUSE);
  ERRNO(addrnotavail, EADDRNOTAVAIL);
  ERRNO(netdown, ENETDOWN);
  ERRNO(netunreach, ENETUNREACH);
  ERRNO(connaborted, ECONNABORTED);
  ERRNO(connreset, ECONNRESET);
  ERRNO(nobufs, ENOBUFS);
  ERRNO(isconn, EISCONN);
  ERRNO(notconn, ENOTCONN);
  ERRNO(shutdown, ESHUTDOWN);
  ERRNO(timedout, ETIMEDOUT);
  ERRNO(connrefused, ECONNREFUSED);
  ERRNO(hostunreach, EHOSTUNREACH);
  ERRNO(already, EALREADY);
  ERRNO(inprogress, EINPROGRESS);
  ERRNO(canceled, ECANCELED);
}

TEST_CASE("socket domains, types and flags are <sys/socket.h>'s", "[uapi]") {
  SAME(s32, af::unspec, AF_UNSPEC);
  SAME(s32, af::local, AF_UNIX);
  SAME(s32, af::local, AF_LOCAL);
  SAME(s32, af::inet, AF_INET);
  SAME(s32, af::inet6, AF_INET6);
  SAME(s32, af::netlink, AF_NETLINK);
  SAME(s32, af::packet, AF_PACKET);
  SAME(u32, sock::stream, SOCK_STREAM);
  SAME(u32, sock::dgram, SOCK_DGRAM);
  SAME(u32, sock::raw, SOCK_RAW);
  SAME(u32, sock::rdm, SOCK_RDM);
  SAME(u32, sock::seqpacket, SOCK_SEQPACKET);
  SAME(u32, sock::nonblock, SOCK_NONBLOCK);
  SAME(u32, sock::cloexec, SOCK_CLOEXEC);
  SAME(u32, shut::rd, SHUT_RD);
  SAME(u32, shut::wr, SHUT_WR);
  SAME(u32, shut::rdwr, SHUT_RDWR);
}

TEST_CASE("msg flags are <sys/socket.h>'s", "[uapi]") {
  SAME(u32, msg::oob, MSG_OOB);
  SAME(u32, msg::peek, MSG_PEEK);
  SAME(u32, msg::dontroute, MSG_DONTROUTE);
  SAME(u32, msg::ctrunc, MSG_CTRUNC);
  SAME(u32, msg::trunc, MSG_TRUNC);
  SAME(u32, msg::dontwait, MSG_DONTWAIT);
  SAME(u32, msg::eor, MSG_EOR);
  SAME(u32, msg::waitall, MSG_WAITALL);
  SAME(u32, msg::confirm, MSG_CONFIRM);
  SAME(u32, msg::errqueue, MSG_ERRQUEUE);
  SAME(u32, msg::nosignal, MSG_NOSIGNAL);
  SAME(u32, msg::more, MSG_MORE);
  SAME(u32, msg::waitforone, MSG_WAITFORONE);
  SAME(u32, msg::zerocopy, MSG_ZEROCOPY);
  SAME(u32, msg::cmsg_cloexec, MSG_CMSG_CLOEXEC);
}

TEST_CASE("accept and timeout flags are <linux/io_uring.h>'s", "[uapi]") {
  SAME(u16, accept::multishot, IORING_ACCEPT_MULTISHOT);
  SAME(u16, accept::dontwait, IORING_ACCEPT_DONTWAIT);
  SAME(u16, accept::poll_first, IORING_ACCEPT_POLL_FIRST);
  SAME(u32, timeout::abs, IORING_TIMEOUT_ABS);
  SAME(u32, timeout::update, IORING_TIMEOUT_UPDATE);
  SAME(u32, timeout::boottime, IORING_TIMEOUT_BOOTTIME);
  SAME(u32, timeout::realtime, IORING_TIMEOUT_REALTIME);
  SAME(u32, timeout::link_update, IORING_LINK_TIMEOUT_UPDATE);
  SAME(u32, timeout::etime_success, IORING_TIMEOUT_ETIME_SUCCESS);
  SAME(u32, timeout::multishot, IORING_TIMEOUT_MULTISHOT);
  // the ABI header's copies agree
  STATIC_REQUIRE(u::accept::multishot == u::abi::accept_multishot);
  STATIC_REQUIRE(u::timeout::abs == u::abi::timeout_abs);
  STATIC_REQUIRE(u::timeout::multishot == u::abi::timeout_multishot);
}

TEST_CASE("poll events are <poll.h>'s", "[uapi]") {
  SAME(u32, poll::in, POLLIN);
  SAME(u32, poll::pri, POLLPRI);
  SAME(u32, poll::out, POLLOUT);
  SAME(u32, poll::err, POLLERR);
  SAME(u32, poll::hup, POLLHUP);
  SAME(u32, poll::nval, POLLNVAL);
  SAME(u32, poll::rdnorm, POLLRDNORM);
  SAME(u32, poll::rdband, POLLRDBAND);
  SAME(u32, poll::wrnorm, POLLWRNORM);
  SAME(u32, poll::wrband, POLLWRBAND);
  SAME(u32, poll::msg, POLLMSG);
  SAME(u32, poll::remove, POLLREMOVE);
  SAME(u32, poll::rdhup, POLLRDHUP);
  STATIC_REQUIRE(u::poll::in == u::abi::poll::in);
  STATIC_REQUIRE(u::poll::out == u::abi::poll::out);
  STATIC_REQUIRE(u::poll::rdhup == u::abi::poll::rdhup);
}

TEST_CASE("open flags and AT_* are <fcntl.h>'s", "[uapi]") {
  SAME(u32, o::rdonly, O_RDONLY);
  SAME(u32, o::wronly, O_WRONLY);
  SAME(u32, o::rdwr, O_RDWR);
  SAME(u32, o::creat, O_CREAT);
  SAME(u32, o::excl, O_EXCL);
  SAME(u32, o::noctty, O_NOCTTY);
  SAME(u32, o::trunc, O_TRUNC);
  SAME(u32, o::append, O_APPEND);
  SAME(u32, o::nonblock, O_NONBLOCK);
  SAME(u32, o::dsync, O_DSYNC);
  SAME(u32, o::sync, O_SYNC);
  SAME(u32, o::noatime, O_NOATIME);
  SAME(u32, o::cloexec, O_CLOEXEC);
  SAME(u32, o::path, O_PATH);
  SAME(u32, o::directory, O_DIRECTORY);
  SAME(u32, o::nofollow, O_NOFOLLOW);
  SAME(u32, o::direct, O_DIRECT);
  SAME(u32, o::tmpfile, O_TMPFILE);
  SAME(s32, at::fdcwd, AT_FDCWD);
  SAME(u32, at::symlink_nofollow, AT_SYMLINK_NOFOLLOW);
  SAME(u32, at::removedir, AT_REMOVEDIR);
  SAME(u32, at::symlink_follow, AT_SYMLINK_FOLLOW);
  SAME(u32, at::empty_path, AT_EMPTY_PATH);
}
