# Reads what the BPF compile needs from bpf/defs.bzl, the Bazel rule, so that
# both build systems compile a policy the same way from one definition:
# _BPF_COPTS (clang's flags), _INLINE_WRAPPER (the always-inline translation
# unit around a C++ policy), _NO_STD_HEADERS and _NO_STD_STUB (a standard
# header in a policy stops the build, saying what to use instead).

# The text of defs.bzl from `start` to the next `end` (both excluded).
function(_iouloop_bzl_between text start end out)
  string(FIND "${text}" "${start}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "iouloop: bpf/defs.bzl has no '${start}': cmake/iouloopFromBazel.cmake must follow it")
  endif()
  string(LENGTH "${start}" n)
  math(EXPR at "${at} + ${n}")
  string(SUBSTRING "${text}" ${at} -1 rest)
  string(FIND "${rest}" "${end}" stop)
  string(SUBSTRING "${rest}" 0 ${stop} body)
  set(${out} "${body}" PARENT_SCOPE)
endfunction()

# The strings of a Starlark list literal, comments dropped.
function(_iouloop_bzl_strings body out)
  string(REGEX REPLACE "#[^\n]*" "" body "${body}")
  string(REGEX MATCHALL "\"[^\"]*\"" quoted "${body}")
  set(items)
  foreach(q IN LISTS quoted)
    string(REGEX REPLACE "^\"(.*)\"$" "\\1" q "${q}")
    list(APPEND items "${q}")
  endforeach()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# iouloop_read_bazel_rule(DEFS_BZL FLAGS_FILE NOSTD_DIR): writes FLAGS_FILE
# (IOULOOP_BPF_COPTS, IOULOOP_INLINE_WRAPPER with @SRC@ for the source) and
# one stub header per standard header into NOSTD_DIR.
function(iouloop_read_bazel_rule defs flags_file nostd_dir)
  file(READ "${defs}" text)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${defs}")
  _iouloop_bzl_between("${text}" "_BPF_COPTS = [" "\n]" body)
  _iouloop_bzl_strings("${body}" copts)
  _iouloop_bzl_between("${text}" "_INLINE_WRAPPER = \"\"\"" "\"\"\"" wrapper)
  string(REPLACE "{src}" "@SRC@" wrapper "${wrapper}")
  _iouloop_bzl_between("${text}" "_NO_STD_HEADERS = [" "\n]" body)
  _iouloop_bzl_strings("${body}" headers)
  _iouloop_bzl_between("${text}" "_NO_STD_STUB = \"\"\"" "\"\"\"" stub)
  list(LENGTH copts ncopts)
  list(LENGTH headers nheaders)
  if(ncopts LESS 4 OR nheaders LESS 10 OR NOT wrapper MATCHES "always_inline" OR NOT stub MATCHES "#error")
    message(FATAL_ERROR "iouloop: could not read the BPF flags from ${defs} (${ncopts} flags, ${nheaders} headers)")
  endif()
  string(REPLACE "bpf/defs.bzl" "bpf/defs.bzl, through CMake" stub "${stub}")
  file(WRITE "${flags_file}"
    "# Generated from bpf/defs.bzl by cmake/iouloopFromBazel.cmake: do not edit.\n"
    "set(IOULOOP_BPF_COPTS [==[${copts}]==])\n"
    "set(IOULOOP_INLINE_WRAPPER [==[${wrapper}]==])\n")
  file(REMOVE_RECURSE "${nostd_dir}")
  foreach(h IN LISTS headers)
    string(REPLACE "{name}" "${h}" s "${stub}")
    file(WRITE "${nostd_dir}/${h}" "${s}")
  endforeach()
endfunction()
