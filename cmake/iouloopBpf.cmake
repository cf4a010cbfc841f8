# iouloop_bpf_program: a policy translation unit -> BPF object -> typed
# header, as bpf/defs.bzl's rule of the same name does for Bazel (same clang
# flags, always-inline wrapper and standard-header stubs, read from that
# file; same checkers, bpf/btf_layout.cc and bpf/call_check.cc).
#
#   iouloop_bpf_program(nop_bpf
#     SRC nop.bpf.cc                 # includes <iouloop/bpf/program.hpp> + IOULOOP_BPF_POLICY(...)
#                                    # (a .c source is compiled as C: hand-written programs)
#     DEPS nop_policy                # targets whose include directories hold the policy headers
#     INCLUDES ${CMAKE_CURRENT_SOURCE_DIR}   # and/or plain directories
#     COPTS -DFOO=1)                 # extra clang flags
#   target_link_libraries(app PRIVATE nop_bpf)
#
# gives NAME.bpf.o and an INTERFACE library NAME (linking iouloop::iouloop_bpf)
# whose header "NAME.bpf.h" embeds the object: NAME::image(), and a handle
# NAME::programs::<program> per IOULOOP_BPF_POLICY line. The build fails,
# naming the cause, if a params_type holds a pointer (btf_layout) or a call
# is left that libbpf cannot load (call_check). ${NAME}_BPF_OBJECT is set to
# the object's path. clang: IOULOOP_BPF_CLANG (cache; clang 18+ for -mcpu=v4).
include_guard(GLOBAL)

# What the function reads, kept as global properties: it is called from
# other directories than the one that included this file (add_subdirectory).
foreach(v IOULOOP_BPF_FLAGS_FILE IOULOOP_NOSTD_DIR IOULOOP_EMBED_SCRIPT)
  set_property(GLOBAL PROPERTY ${v} "${${v}}")
endforeach()
find_program(IOULOOP_BPF_CLANG NAMES clang-19 clang-21 clang-20 clang-22 clang-18 clang
  DOC "clang that compiles iouloop policies for BPF (-target bpf -mcpu=v4: clang 18 or newer)")
# clang 21 and 22 crash generating BTF for a C++ class with a member function
# (docs/toolchains.md): check this clang once; if it does, C++ policies
# compile in three steps (front end, iouloop::btf_ir_fix, back end), as
# third_party/system.bzl decides for Bazel. IOULOOP_BPF_IR_FIX=ON/OFF forces it.
if(IOULOOP_BPF_CLANG AND NOT DEFINED IOULOOP_BPF_IR_FIX)
  set(check "${CMAKE_BINARY_DIR}/iouloop_btf_self_check")
  file(WRITE "${check}.cc" "struct iouloop_check { unsigned x; unsigned get() const { return x; } };\n"
    "struct iouloop_outer { iouloop_check c; };\n"
    "extern \"C\" int iouloop_check_use(iouloop_outer* o) { return o->c.get(); }\n")
  execute_process(COMMAND "${IOULOOP_BPF_CLANG}" -x c++ -std=c++20 -target bpf -mcpu=v4 -O2 -g -fstandalone-debug
    -c "${check}.cc" -o "${check}.o" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(fix OFF)
  else()
    set(fix ON)
    message(STATUS "iouloop: ${IOULOOP_BPF_CLANG} crashes generating BTF for C++ classes; policies compile through iouloop::btf_ir_fix")
  endif()
  set(IOULOOP_BPF_IR_FIX ${fix} CACHE BOOL "compile C++ policies in three steps around iouloop::btf_ir_fix (clang 21, 22)")
endif()

function(iouloop_bpf_program name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SRC" "DEPS;INCLUDES;COPTS")
  if(NOT arg_SRC)
    message(FATAL_ERROR "iouloop_bpf_program(${name}): SRC is required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "iouloop_bpf_program(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS} (SRC, DEPS, INCLUDES, COPTS)")
  endif()
  if(NOT IOULOOP_BPF_CLANG)
    message(FATAL_ERROR "iouloop_bpf_program(${name}): no clang found; set IOULOOP_BPF_CLANG (clang 18 or newer)")
  endif()
  foreach(v IOULOOP_BPF_FLAGS_FILE IOULOOP_NOSTD_DIR IOULOOP_EMBED_SCRIPT)
    get_property(${v} GLOBAL PROPERTY ${v})
  endforeach()
  include("${IOULOOP_BPF_FLAGS_FILE}")  # IOULOOP_BPF_COPTS, IOULOOP_INLINE_WRAPPER
  get_filename_component(src "${arg_SRC}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf")
  set(obj "${dir}/${name}.bpf.o")
  set(probe "${dir}/${name}.probe.bpf.o")
  set(layout "${dir}/${name}.bpf.layout.inc")
  set(calls "${dir}/${name}.bpf.calls.ok")
  set(header "${dir}/include/${name}.bpf.h")
  set(label "CMake target ${name}")
  file(MAKE_DIRECTORY "${dir}/include")

  set(flags)
  set(tu "${src}")
  set(subprograms)
  if(src MATCHES "\\.c$")
    list(APPEND flags -x c -std=gnu11)
    set(subprograms --subprograms)  # its static functions are BPF-to-BPF calls
  else()
    list(APPEND flags -x c++ -std=c++20 -fno-exceptions -fno-rtti)
    set(tu "${dir}/${name}.inline.bpf.cc")
    string(REPLACE "@SRC@" "${src}" wrapper "${IOULOOP_INLINE_WRAPPER}")
    file(GENERATE OUTPUT "${tu}" CONTENT "${wrapper}")
  endif()
  list(APPEND flags ${IOULOOP_BPF_COPTS} ${arg_COPTS})
  foreach(inc IN LISTS arg_INCLUDES)
    get_filename_component(inc "${inc}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND flags "-I${inc}")
  endforeach()
  foreach(t IN LISTS arg_DEPS ITEMS iouloop::iouloop)
    set(p "$<TARGET_PROPERTY:${t},INTERFACE_INCLUDE_DIRECTORIES>")
    list(APPEND flags "$<$<BOOL:${p}>:-I$<JOIN:${p},$<SEMICOLON>-I>>")
  endforeach()
  if(NOT src MATCHES "\\.c$")
    list(APPEND flags -isystem "${IOULOOP_NOSTD_DIR}")
  endif()

  set(backend_flags ${IOULOOP_BPF_COPTS})
  list(REMOVE_ITEM backend_flags -fstandalone-debug)
  foreach(kind object probe)
    if(kind STREQUAL object)
      set(out "${obj}")
      set(extra)
    else()
      set(out "${probe}")
      set(extra -DIOULOOP_LAYOUT_PROBE)
    endif()
    if(IOULOOP_BPF_IR_FIX AND NOT src MATCHES "\\.c$")
      add_custom_command(OUTPUT "${out}"
        COMMAND "${IOULOOP_BPF_CLANG}" ${flags} ${extra} -MD -MF "${out}.d" -Xclang -disable-llvm-passes
                -S -emit-llvm -c "${tu}" -o "${out}.fe.ll"
        COMMAND "$<TARGET_FILE:iouloop::btf_ir_fix>" "${out}.fe.ll" "${out}.ll"
        COMMAND "${IOULOOP_BPF_CLANG}" ${backend_flags} -Wno-override-module -c "${out}.ll" -o "${out}"
        DEPENDS "${src}" "${tu}" iouloop::btf_ir_fix
        DEPFILE "${out}.d"
        COMMAND_EXPAND_LISTS VERBATIM
        COMMENT "Compiling ${arg_SRC} for BPF (${name}, ${kind}; through btf_ir_fix)")
    else()
      add_custom_command(OUTPUT "${out}"
        COMMAND "${IOULOOP_BPF_CLANG}" ${flags} ${extra} -MD -MF "${out}.d" -c "${tu}" -o "${out}"
        DEPENDS "${src}" "${tu}"
        DEPFILE "${out}.d"
        COMMAND_EXPAND_LISTS VERBATIM
        COMMENT "Compiling ${arg_SRC} for BPF (${name}, ${kind})")
    endif()
  endforeach()
  add_custom_command(OUTPUT "${layout}"
    COMMAND "$<TARGET_FILE:iouloop::btf_layout>" "${probe}" --namespace ${name} --label "${label}" --out "${layout}"
    DEPENDS "${probe}" iouloop::btf_layout
    VERBATIM COMMENT "Checking the params layout of ${name}")
  add_custom_command(OUTPUT "${calls}"
    COMMAND "$<TARGET_FILE:iouloop::call_check>" "${obj}" --label "${label}" --stamp "${calls}" ${subprograms}
    DEPENDS "${obj}" iouloop::call_check
    VERBATIM COMMENT "Checking the calls of ${name}")
  add_custom_command(OUTPUT "${header}"
    COMMAND "${IOULOOP_EMBED_SCRIPT}" "${obj}" "${header}" "${layout}" ${name} ${name} "${arg_SRC}"
    DEPENDS "${obj}" "${layout}" "${calls}" "${IOULOOP_EMBED_SCRIPT}"
    VERBATIM COMMENT "Embedding ${name}.bpf.o into ${name}.bpf.h")
  add_custom_target(${name}_generate DEPENDS "${header}")

  add_library(${name} INTERFACE)
  target_include_directories(${name} INTERFACE "${dir}/include")
  target_link_libraries(${name} INTERFACE iouloop::iouloop_bpf)
  add_dependencies(${name} ${name}_generate)
  set(${name}_BPF_OBJECT "${obj}" PARENT_SCOPE)
endfunction()
