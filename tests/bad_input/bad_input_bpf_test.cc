#include "examples/cp/cp_bpf.bpf.h"
#include "tests/bad_input/bad_input_bpf.bpf.h"
#include "tests/bad_input/cases.hpp"
#include "tests/semantics/semantics_bpf.bpf.h"
#include "tests/support/runners.hpp"

struct bad_input_programs {
  template <class P> static iouloop::bpf_image image();
  template <class P> static const char* name();
};
template <> iouloop::bpf_image bad_input_programs::image<sem::stop_at_once>() { return semantics_bpf::image(); }
template <> const char* bad_input_programs::name<sem::stop_at_once>() { return "stop_at_once"; }
template <> iouloop::bpf_image bad_input_programs::image<sem::return_value>() { return semantics_bpf::image(); }
template <> const char* bad_input_programs::name<sem::return_value>() { return "return_value"; }
template <> iouloop::bpf_image bad_input_programs::image<sem::overflow_flush>() { return semantics_bpf::image(); }
template <> const char* bad_input_programs::name<sem::overflow_flush>() { return "overflow_flush"; }
template <> iouloop::bpf_image bad_input_programs::image<bad::oversubscribe>() { return bad_input_bpf::image(); }
template <> const char* bad_input_programs::name<bad::oversubscribe>() { return "oversubscribe"; }
template <> iouloop::bpf_image bad_input_programs::image<bad::forever>() { return bad_input_bpf::image(); }
template <> const char* bad_input_programs::name<bad::forever>() { return "forever"; }
template <> iouloop::bpf_image bad_input_programs::image<cp::policy>() { return cp_bpf::image(); }
template <> const char* bad_input_programs::name<cp::policy>() { return "cp"; }

using bpf = bpf_runner<bad_input_programs>;
IOULOOP_BAD_INPUT_CASES(bpf)
