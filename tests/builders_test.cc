// SQE builders: every field written, per-opcode fields in the right place.
#include <catch2/catch_test_macros.hpp>
#include <cstring>

#include "iouloop/ring.hpp"
#include "iouloop/sqe.hpp"
#include "iouloop/user_data.hpp"

using namespace iouloop;

namespace {
abi::sqe dirty() {
  abi::sqe s;
  std::memset(&s, 0xa5, sizeof s);  // a reused slot: stale bytes everywhere
  return s;
}
void require_clean_tail(const abi::sqe& s) {
  REQUIRE(s.personality == 0);
  REQUIRE(s.addr3 == 0);
  REQUIRE(s.pad2 == 0);
}
}  // namespace

// Raw words, for checking the fields they land in.
constexpr udata U(u64 v) { return udata::from_raw(v); }
constexpr uaddr A(u64 v) { return uaddr::from_raw(v); }

TEST_CASE("prep_nop clears a stale slot", "[builders]") {
  abi::sqe s = dirty();
  prep_nop(s, U(9));
  REQUIRE(s.opcode == abi::op::nop);
  REQUIRE(s.flags == 0);
  REQUIRE(s.ioprio == 0);
  REQUIRE(s.user_data == 9);
  REQUIRE(s.len == 0);
  REQUIRE(s.op_flags == 0);
  REQUIRE(s.buf_index == 0);
  REQUIRE(s.file_index == 0);
  require_clean_tail(s);
}

TEST_CASE("read/write/readv/writev carry fd, buffer, length and offset", "[builders]") {
  struct row {
    u8 op;
    sqe_ref (*prep)(abi::sqe&, s32, uaddr, u32, u64, udata);
  };
  for (row r : {row{abi::op::read, prep_read}, row{abi::op::write, prep_write}, row{abi::op::readv, prep_readv},
                row{abi::op::writev, prep_writev}}) {
    abi::sqe s = dirty();
    r.prep(s, 7, A(0x1000), 4096, 8192, U(77));
    CAPTURE(int(r.op));
    REQUIRE(s.opcode == r.op);
    REQUIRE(s.fd == 7);
    REQUIRE(s.addr == 0x1000);
    REQUIRE(s.len == 4096);
    REQUIRE(s.off == 8192);
    REQUIRE(s.user_data == 77);
    REQUIRE(s.flags == 0);
    REQUIRE(s.op_flags == 0);
    require_clean_tail(s);
  }
}

TEST_CASE("socket builders", "[builders]") {
  abi::sqe s = dirty();
  prep_recv(s, 3, A(0x2000), 100, 0x40, U(1));
  REQUIRE((s.opcode == abi::op::recv && s.fd == 3 && s.addr == 0x2000 && s.len == 100 && s.op_flags == 0x40));
  REQUIRE(s.ioprio == 0);
  s = dirty();
  prep_recv_multishot(s, 3, buf_group{5}, 0, U(2));
  REQUIRE((s.opcode == abi::op::recv && s.ioprio == abi::recv_multishot && s.buf_index == 5));
  REQUIRE(s.flags == abi::sqe_flag::buffer_select);
  REQUIRE((s.addr == 0 && s.len == 0 && s.op_flags == 0));
  REQUIRE(s.file_index == 0);  // no total limit unless asked for
  s = dirty();
  prep_recv_multishot(s, 3, buf_group{5}, 0, U(2)).total_limit(8192);
  REQUIRE((s.ioprio == abi::recv_multishot && s.file_index == 8192));  // sqe->optlen
  s = dirty();
  prep_recv_select(s, 3, buf_group{6}, 0x40, U(2));
  REQUIRE((s.opcode == abi::op::recv && s.ioprio == 0 && s.buf_index == 6 && s.op_flags == 0x40));
  REQUIRE((s.flags == abi::sqe_flag::buffer_select && s.addr == 0 && s.len == 0));
  s = dirty();
  prep_recv_bundle(s, 3, buf_group{7}, 0, U(2));
  REQUIRE((s.ioprio == abi::recvsend_bundle && s.buf_index == 7 && s.flags == abi::sqe_flag::buffer_select));
  s = dirty();
  prep_recv_multishot_bundle(s, 3, buf_group{8}, 0, U(2)).link();
  REQUIRE((s.ioprio == (abi::recv_multishot | abi::recvsend_bundle) && s.buf_index == 8));
  REQUIRE(s.flags == (abi::sqe_flag::buffer_select | abi::sqe_flag::io_link));
  s = dirty();
  prep_send(s, 4, A(0x3000), 10, 0x4000, U(3));
  REQUIRE((s.opcode == abi::op::send && s.fd == 4 && s.addr == 0x3000 && s.len == 10 && s.op_flags == 0x4000));
  s = dirty();
  prep_accept(s, 5, A(0x10), A(0x20), 0x80000, U(4));
  REQUIRE((s.opcode == abi::op::accept && s.fd == 5 && s.addr == 0x10 && s.off == 0x20 && s.op_flags == 0x80000));
  REQUIRE(s.ioprio == 0);
  s = dirty();
  prep_accept_multishot(s, 5, 0, U(4));
  REQUIRE((s.ioprio == abi::accept_multishot && s.addr == 0 && s.off == 0));
  s = dirty();
  prep_connect(s, 6, A(0x50), 16, U(5));
  REQUIRE((s.opcode == abi::op::connect && s.fd == 6 && s.addr == 0x50 && s.off == 16));
  s = dirty();
  prep_close(s, 8, U(6));
  REQUIRE((s.opcode == abi::op::close && s.fd == 8 && s.user_data == 6));
  require_clean_tail(s);
}

TEST_CASE("timeouts and cancel", "[builders]") {
  abi::sqe s = dirty();
  prep_timeout(s, A(0x7000), 3, abi::timeout_abs, U(1));
  REQUIRE((s.opcode == abi::op::timeout && s.addr == 0x7000 && s.len == 1 && s.off == 3 &&
           s.op_flags == abi::timeout_abs && s.fd == -1));
  s = dirty();
  prep_link_timeout(s, A(0x7000), 0, U(2));
  REQUIRE((s.opcode == abi::op::link_timeout && s.addr == 0x7000 && s.len == 1 && s.off == 0));
  s = dirty();
  prep_cancel(s, U(1234), 0, U(3));
  REQUIRE((s.opcode == abi::op::async_cancel && s.addr == 1234));
}

TEST_CASE("poll_add: events, one-shot and multishot", "[builders]") {
  abi::sqe s = dirty();
  prep_poll_add(s, 9, abi::poll::in | abi::poll::hup, true, U(5));
  REQUIRE((s.opcode == abi::op::poll_add && s.fd == 9 && s.op_flags == (abi::poll::in | abi::poll::hup) &&
           s.len == abi::poll_add_multi && s.user_data == 5 && s.addr == 0 && s.off == 0));
  s = dirty();
  prep_poll_add(s, 9, abi::poll::out, false, U(6));
  REQUIRE((s.opcode == abi::op::poll_add && s.len == 0 && s.op_flags == abi::poll::out));
}

TEST_CASE("per-request flags combine", "[builders]") {
  abi::sqe s = dirty();
  prep_read(s, 1, uaddr{}, 1, 0, udata{}).link().skip_success();
  REQUIRE(s.flags == (abi::sqe_flag::io_link | abi::sqe_flag::cqe_skip_success));
  prep_write(s, 1, uaddr{}, 1, 0, udata{}).hardlink().drain().async();
  REQUIRE(s.flags == (abi::sqe_flag::io_hardlink | abi::sqe_flag::io_drain | abi::sqe_flag::async));
  prep_fsync(s, 1, udata{});
  REQUIRE((s.flags == 0 && s.opcode == abi::op::fsync));
}

namespace {
enum class tag : u8 { a = 1, b = 2, top = 255 };
enum class small : u8 { x = 3 };
}  // namespace

TEST_CASE("user_data tags round-trip at the extremes", "[tags]") {
  using ud = user_data<tag, u32>;
  STATIC_REQUIRE(ud::payload_bits == 56);
  STATIC_REQUIRE(ud::tag_of(ud::make(tag::b, 7)) == tag::b);
  for (tag t : {tag::a, tag::b, tag::top})
    for (u32 p : {0u, 1u, 0x7fffffffu, 0xffffffffu}) {
      udata raw = ud::make(t, p);
      REQUIRE(ud::tag_of(raw) == t);
      REQUIRE(ud::payload_of(raw) == p);
    }
  using ud56 = user_data<tag, u32, 8>;
  REQUIRE(ud56::payload_of(ud56::make(tag::top, 0xffffffffu)) == 0xffffffffu);
}

TEST_CASE("fixed-file builders name a slot and set IOSQE_FIXED_FILE; a direct close and accept do not", "[builders]") {
  abi::sqe s = dirty();
  prep_recv(s, fixed_fd{5}, A(0x2000), 100, 0, U(1));
  REQUIRE((s.opcode == abi::op::recv && s.fd == 5 && s.flags == abi::sqe_flag::fixed_file && s.len == 100));
  s = dirty();
  prep_send(s, fixed_fd{6}, A(0x3000), 10, 0x4000, U(2)).link();
  REQUIRE((s.opcode == abi::op::send && s.fd == 6 && s.op_flags == 0x4000));
  REQUIRE(s.flags == (abi::sqe_flag::fixed_file | abi::sqe_flag::io_link));
  s = dirty();
  prep_recv_multishot(s, fixed_fd{7}, buf_group{2}, 0, U(3));
  REQUIRE((s.fd == 7 && s.ioprio == abi::recv_multishot && s.buf_index == 2));
  REQUIRE(s.flags == (abi::sqe_flag::fixed_file | abi::sqe_flag::buffer_select));
  s = dirty();
  prep_read(s, fixed_fd{1}, A(0x1000), 4, 8, U(4));
  REQUIRE((s.opcode == abi::op::read && s.fd == 1 && s.flags == abi::sqe_flag::fixed_file && s.off == 8));
  s = dirty();
  prep_close(s, fixed_fd{0}, U(5));
  REQUIRE((s.opcode == abi::op::close && s.fd == 0 && s.file_index == 1 && s.flags == 0));
  s = dirty();
  prep_close(s, 9, U(5));  // a regular fd
  REQUIRE((s.fd == 9 && s.file_index == 0));
  s = dirty();
  prep_accept_multishot_direct(s, 3, 0, U(6));
  REQUIRE((s.opcode == abi::op::accept && s.fd == 3 && s.ioprio == abi::accept_multishot));
  REQUIRE((s.file_index == abi::file_index_alloc && s.flags == 0));
  s = dirty();
  prep_accept_direct(s, 3, 0, U(6));
  REQUIRE((s.ioprio == 0 && s.file_index == abi::file_index_alloc));
  abi::cqe c{0, 4, 0};
  REQUIRE(cqe_view(c).accepted_direct() == fixed_fd{4});
}

TEST_CASE("socket, connect and shutdown on a slot of the file table", "[builders]") {
  abi::sqe s = dirty();
  // IORING_OP_SOCKET: domain in fd, type in off, protocol in len, the slot in file_index
  prep_socket_direct(s, 2, 1 | 04000, 6, abi::file_index_alloc, U(1));
  REQUIRE((s.opcode == abi::op::socket && s.fd == 2 && s.off == (1 | 04000) && s.len == 6));
  REQUIRE((s.file_index == abi::file_index_alloc && s.flags == 0 && s.addr == 0 && s.op_flags == 0));
  REQUIRE((s.ioprio == 0 && s.buf_index == 0 && s.user_data == 1));
  require_clean_tail(s);
  s = dirty();
  prep_socket_direct(s, 10, 1, 0, 7 + 1, U(1));  // slot 7
  REQUIRE((s.fd == 10 && s.file_index == 8));
  s = dirty();
  prep_connect(s, fixed_fd{3}, A(0x50), 16, U(2));
  REQUIRE((s.opcode == abi::op::connect && s.fd == 3 && s.addr == 0x50 && s.off == 16 && s.len == 0));
  REQUIRE((s.flags == abi::sqe_flag::fixed_file && s.file_index == 0 && s.op_flags == 0));
  s = dirty();
  prep_shutdown(s, fixed_fd{4}, 1, U(3)).link();
  REQUIRE((s.opcode == abi::op::shutdown && s.fd == 4 && s.len == 1 && s.off == 0 && s.addr == 0));
  REQUIRE(s.flags == (abi::sqe_flag::fixed_file | abi::sqe_flag::io_link));
  REQUIRE((s.op_flags == 0 && s.buf_index == 0 && s.file_index == 0 && s.user_data == 3));
  require_clean_tail(s);
  s = dirty();
  prep_shutdown(s, 9, 2, U(4));  // a regular fd
  REQUIRE((s.opcode == abi::op::shutdown && s.fd == 9 && s.len == 2 && s.flags == 0));
}
