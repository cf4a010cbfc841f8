// The ABI header's layouts and constants against the system's kernel headers.
#include <linux/io_uring.h>
#include <linux/version.h>
#include <poll.h>

#include <catch2/catch_test_macros.hpp>
#include <cstddef>

#include "iouloop/abi.hpp"

using namespace iouloop;

#define SAME_FIELD(ours, theirs, field) STATIC_REQUIRE(offsetof(ours, field) == offsetof(theirs, field))

TEST_CASE("provided buffer ring layouts match <linux/io_uring.h>", "[abi]") {
  STATIC_REQUIRE(sizeof(abi::buf) == sizeof(io_uring_buf));
  SAME_FIELD(abi::buf, io_uring_buf, addr);
  SAME_FIELD(abi::buf, io_uring_buf, len);
  SAME_FIELD(abi::buf, io_uring_buf, bid);
  SAME_FIELD(abi::buf, io_uring_buf, resv);
  // the ring's tail is entry 0's resv
  STATIC_REQUIRE(offsetof(io_uring_buf_ring, tail) == offsetof(abi::buf, resv));
  STATIC_REQUIRE(sizeof(abi::buf_reg) == sizeof(io_uring_buf_reg));
  SAME_FIELD(abi::buf_reg, io_uring_buf_reg, ring_addr);
  SAME_FIELD(abi::buf_reg, io_uring_buf_reg, ring_entries);
  SAME_FIELD(abi::buf_reg, io_uring_buf_reg, bgid);
  SAME_FIELD(abi::buf_reg, io_uring_buf_reg, flags);
  STATIC_REQUIRE(abi::register_pbuf_ring == IORING_REGISTER_PBUF_RING);
  STATIC_REQUIRE(abi::register_files2 == IORING_REGISTER_FILES2);
  STATIC_REQUIRE(abi::unregister_files == IORING_UNREGISTER_FILES);
  STATIC_REQUIRE(abi::rsrc_register_sparse == IORING_RSRC_REGISTER_SPARSE);
  STATIC_REQUIRE(abi::file_index_alloc == IORING_FILE_INDEX_ALLOC);
  STATIC_REQUIRE(sizeof(abi::rsrc_register) == sizeof(io_uring_rsrc_register));
  STATIC_REQUIRE(abi::register_ring_fds == IORING_REGISTER_RING_FDS);
  STATIC_REQUIRE(abi::unregister_ring_fds == IORING_UNREGISTER_RING_FDS);
  STATIC_REQUIRE(abi::enter::registered_ring == IORING_ENTER_REGISTERED_RING);
#if defined(LINUX_VERSION_CODE) && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
  STATIC_REQUIRE(abi::register_use_registered_ring == IORING_REGISTER_USE_REGISTERED_RING);  // an enumerator
#endif
  STATIC_REQUIRE(sizeof(abi::rsrc_update) == sizeof(io_uring_rsrc_update));
  SAME_FIELD(abi::rsrc_update, io_uring_rsrc_update, offset);
  SAME_FIELD(abi::rsrc_update, io_uring_rsrc_update, data);
  STATIC_REQUIRE(abi::sqe_flag::fixed_file == IOSQE_FIXED_FILE);
  STATIC_REQUIRE(abi::unregister_pbuf_ring == IORING_UNREGISTER_PBUF_RING);
  STATIC_REQUIRE(abi::pbuf_ring_mmap == IOU_PBUF_RING_MMAP);
  STATIC_REQUIRE(abi::cqe_flag::sock_nonempty == IORING_CQE_F_SOCK_NONEMPTY);
#ifdef IORING_CQE_F_BUF_MORE
  STATIC_REQUIRE(abi::cqe_flag::buf_more == IORING_CQE_F_BUF_MORE);
#endif
#ifdef IOU_PBUF_RING_INC
  STATIC_REQUIRE(abi::pbuf_ring_inc == IOU_PBUF_RING_INC);
#endif
}

TEST_CASE("sqe and cqe layouts match <linux/io_uring.h>", "[abi]") {
  STATIC_REQUIRE(sizeof(abi::sqe) == sizeof(io_uring_sqe));
  SAME_FIELD(abi::sqe, io_uring_sqe, opcode);
  SAME_FIELD(abi::sqe, io_uring_sqe, flags);
  SAME_FIELD(abi::sqe, io_uring_sqe, ioprio);
  SAME_FIELD(abi::sqe, io_uring_sqe, fd);
  SAME_FIELD(abi::sqe, io_uring_sqe, off);
  SAME_FIELD(abi::sqe, io_uring_sqe, addr);
  SAME_FIELD(abi::sqe, io_uring_sqe, len);
  STATIC_REQUIRE(offsetof(abi::sqe, op_flags) == offsetof(io_uring_sqe, rw_flags));
  SAME_FIELD(abi::sqe, io_uring_sqe, user_data);
  SAME_FIELD(abi::sqe, io_uring_sqe, buf_index);
  SAME_FIELD(abi::sqe, io_uring_sqe, personality);
  STATIC_REQUIRE(offsetof(abi::sqe, file_index) == offsetof(io_uring_sqe, file_index));
  SAME_FIELD(abi::sqe, io_uring_sqe, addr3);
  STATIC_REQUIRE(sizeof(abi::cqe) == sizeof(io_uring_cqe));
  SAME_FIELD(abi::cqe, io_uring_cqe, user_data);
  SAME_FIELD(abi::cqe, io_uring_cqe, res);
  SAME_FIELD(abi::cqe, io_uring_cqe, flags);
  STATIC_REQUIRE(sizeof(abi::sqring_offsets) == sizeof(io_sqring_offsets));
  STATIC_REQUIRE(sizeof(abi::cqring_offsets) == sizeof(io_cqring_offsets));
  SAME_FIELD(abi::cqring_offsets, io_cqring_offsets, cqes);
  SAME_FIELD(abi::sqring_offsets, io_sqring_offsets, array);
}

TEST_CASE("constants match <linux/io_uring.h> where it has them", "[abi]") {
  STATIC_REQUIRE(abi::op::nop == IORING_OP_NOP);
  STATIC_REQUIRE(abi::op::readv == IORING_OP_READV);
  STATIC_REQUIRE(abi::op::writev == IORING_OP_WRITEV);
  STATIC_REQUIRE(abi::op::fsync == IORING_OP_FSYNC);
  STATIC_REQUIRE(abi::op::timeout == IORING_OP_TIMEOUT);
  STATIC_REQUIRE(abi::op::timeout_remove == IORING_OP_TIMEOUT_REMOVE);
  STATIC_REQUIRE(abi::op::accept == IORING_OP_ACCEPT);
  STATIC_REQUIRE(abi::op::async_cancel == IORING_OP_ASYNC_CANCEL);
  STATIC_REQUIRE(abi::op::link_timeout == IORING_OP_LINK_TIMEOUT);
  STATIC_REQUIRE(abi::op::connect == IORING_OP_CONNECT);
  STATIC_REQUIRE(abi::op::close == IORING_OP_CLOSE);
  STATIC_REQUIRE(abi::op::read == IORING_OP_READ);
  STATIC_REQUIRE(abi::op::write == IORING_OP_WRITE);
  STATIC_REQUIRE(abi::op::send == IORING_OP_SEND);
  STATIC_REQUIRE(abi::op::recv == IORING_OP_RECV);
  STATIC_REQUIRE(abi::op::shutdown == IORING_OP_SHUTDOWN);
  STATIC_REQUIRE(abi::op::socket == IORING_OP_SOCKET);
  STATIC_REQUIRE(abi::sqe_flag::io_link == IOSQE_IO_LINK);
  STATIC_REQUIRE(abi::sqe_flag::io_hardlink == IOSQE_IO_HARDLINK);
  STATIC_REQUIRE(abi::sqe_flag::io_drain == IOSQE_IO_DRAIN);
  STATIC_REQUIRE(abi::sqe_flag::async == IOSQE_ASYNC);
  STATIC_REQUIRE(abi::sqe_flag::buffer_select == IOSQE_BUFFER_SELECT);
  STATIC_REQUIRE(abi::sqe_flag::cqe_skip_success == IOSQE_CQE_SKIP_SUCCESS);
  STATIC_REQUIRE(abi::cqe_flag::buffer == IORING_CQE_F_BUFFER);
  STATIC_REQUIRE(abi::cqe_flag::more == IORING_CQE_F_MORE);
  STATIC_REQUIRE(abi::cqe_flag::buffer_shift == IORING_CQE_BUFFER_SHIFT);
  STATIC_REQUIRE(abi::setup::iopoll == IORING_SETUP_IOPOLL);
  STATIC_REQUIRE(abi::setup::sqpoll == IORING_SETUP_SQPOLL);
  STATIC_REQUIRE(abi::setup::single_issuer == IORING_SETUP_SINGLE_ISSUER);
  STATIC_REQUIRE(abi::setup::defer_taskrun == IORING_SETUP_DEFER_TASKRUN);
  STATIC_REQUIRE(abi::setup::taskrun_flag == IORING_SETUP_TASKRUN_FLAG);
  STATIC_REQUIRE(abi::sq_flag::taskrun == IORING_SQ_TASKRUN);
  STATIC_REQUIRE(abi::sq_flag::cq_overflow == IORING_SQ_CQ_OVERFLOW);
  STATIC_REQUIRE(abi::accept_multishot == IORING_ACCEPT_MULTISHOT);
  STATIC_REQUIRE(abi::recv_multishot == IORING_RECV_MULTISHOT);
  STATIC_REQUIRE(abi::recvsend_bundle == IORING_RECVSEND_BUNDLE);
  STATIC_REQUIRE(abi::feat::single_mmap == IORING_FEAT_SINGLE_MMAP);
  STATIC_REQUIRE(abi::feat::recvsend_bundle == IORING_FEAT_RECVSEND_BUNDLE);
  STATIC_REQUIRE(abi::enter::ext_arg == IORING_ENTER_EXT_ARG);
  STATIC_REQUIRE(abi::op::poll_add == IORING_OP_POLL_ADD);
  STATIC_REQUIRE(abi::poll_add_multi == IORING_POLL_ADD_MULTI);
  STATIC_REQUIRE(abi::poll::in == POLLIN && abi::poll::out == POLLOUT && abi::poll::err == POLLERR);
  STATIC_REQUIRE(abi::poll::hup == POLLHUP && abi::poll::pri == POLLPRI && abi::poll::rdhup == POLLRDHUP);
  STATIC_REQUIRE(abi::setup::sqe128 == IORING_SETUP_SQE128);
  STATIC_REQUIRE(abi::setup::cqe32 == IORING_SETUP_CQE32);
  STATIC_REQUIRE(abi::setup::r_disabled == IORING_SETUP_R_DISABLED);
  STATIC_REQUIRE(abi::setup::coop_taskrun == IORING_SETUP_COOP_TASKRUN);
  // Newer than some uapi headers this builds with: checked where the header has them.
#ifdef IORING_SETUP_CQE_MIXED
  STATIC_REQUIRE(abi::setup::cqe_mixed == IORING_SETUP_CQE_MIXED);
#endif
#ifdef IORING_SETUP_SQE_MIXED
  STATIC_REQUIRE(abi::setup::sqe_mixed == IORING_SETUP_SQE_MIXED);
#endif
#ifdef IORING_ENTER_EXT_ARG_REG
  STATIC_REQUIRE(abi::enter::ext_arg_reg == IORING_ENTER_EXT_ARG_REG);
#endif
  // Newer than bookworm's 6.1 headers: defined by iouloop, guarded.
  STATIC_REQUIRE(IORING_SETUP_NO_SQARRAY == abi::setup::no_sqarray);
  STATIC_REQUIRE(IORING_SETUP_SQ_REWIND == abi::setup::sq_rewind);
#if defined(LINUX_VERSION_CODE) && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
  // Enumerators in the uapi header since 6.13 (io_uring_register_op, and the
  // region type): abi.hpp defines no macro for them (see its end).
  STATIC_REQUIRE(IORING_REGISTER_MEM_REGION == abi::register_mem_region);
  STATIC_REQUIRE(IORING_MEM_REGION_TYPE_USER == abi::mem_region_type_user);
#endif
  STATIC_REQUIRE(sizeof(abi::region_desc) == 64);
  STATIC_REQUIRE(sizeof(abi::mem_region_reg) == 32);
}
