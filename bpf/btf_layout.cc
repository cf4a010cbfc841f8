// btf_layout: the build-time check that host and BPF object agree on each
// policy's params layout (run by the iouloop_bpf_program rule, bpf/defs.bzl).
//
//   btf_layout PROBE.o --namespace NS --label LABEL --out FRAGMENT
//
// PROBE.o is the policy translation unit compiled a second time with
// IOULOOP_LAYOUT_PROBE: for every IOULOOP_BPF_POLICY(NAME, ...) its BTF has
// NAME_layout_probe (a pointer to the params_type as the BPF side compiled
// it) and NAME_layout_region (a pointer to an array of region_bytes bytes).
//
// 1. A pointer anywhere in a params_type (members of nested structs, unions
//    and array elements included) is refused: exit status 1, one message per
//    pointer on stderr. A BPF program cannot use a host pointer; the verifier
//    would refuse the first dereference at load time, and only on the BPF
//    engine. User memory is passed as a user address in an iouloop::u64.
// 2. Otherwise FRAGMENT gets, for namespace NS of the generated NS.bpf.h, one
//    struct NS::programs::NAME per program: its name, region_bytes, image(),
//    and `template <class Params> static consteval bool layout_matches()`,
//    whose static_asserts compare the host's Params with the BPF object's
//    layout: total size, and every named member (recursively) by name,
//    offset and size. bpf_engine's typed constructor instantiates it, so a
//    mismatch fails the host build.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  va_list a, b;
  va_start(a, f);
  va_copy(b, a);
  int n = std::vsnprintf(nullptr, 0, f, a);
  va_end(a);
  std::string s(n > 0 ? size_t(n) + 1 : 1, '\0');
  std::vsnprintf(s.data(), s.size(), f, b);
  va_end(b);
  s.resize(n > 0 ? size_t(n) : 0);
  return s;
}

const char* name_of(const btf* b, const btf_type* t) {
  const char* n = btf__name_by_offset(b, t->name_off);
  return n ? n : "";
}

// Through typedefs and const/volatile/restrict/type tags.
unsigned skip_aliases(const btf* b, unsigned id) {
  for (int guard = 0; id != 0 && guard < 64; ++guard) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!t || !(btf_is_mod(t) || btf_is_typedef(t))) break;
    id = t->type;
  }
  return id;
}

// A C declaration of type `id` named `field`, e.g. "char *name".
std::string declaration(const btf* b, unsigned id, const std::string& field) {
  std::string out;
  auto print = [](void* ctx, const char* f, va_list args) {
    va_list again;
    va_copy(again, args);
    int n = std::vsnprintf(nullptr, 0, f, again);
    va_end(again);
    if (n <= 0) return;
    std::string piece(size_t(n) + 1, '\0');
    std::vsnprintf(piece.data(), piece.size(), f, args);
    piece.resize(size_t(n));
    *static_cast<std::string*>(ctx) += piece;
  };
  btf_dump* d = btf_dump__new(b, print, &out, nullptr);
  if (!d) return field;
  LIBBPF_OPTS(btf_dump_emit_type_decl_opts, opts, .field_name = field.c_str());
  if (btf_dump__emit_type_decl(d, id, &opts) != 0) out = field;
  btf_dump__free(d);
  return out;
}

// clang lists a C++ class's static data members among its BTF members, at
// offset 0, and its methods and constexpr statics with type 0. A member at
// offset 0 after one at a later offset, in a struct, is such a static.
bool looks_static(const btf_type* t, int i) {
  if (!btf_is_struct(t)) return false;
  const btf_member* m = btf_members(t);
  if (m[i].type == 0) return true;
  if (btf_member_bit_offset(t, i) != 0) return false;
  for (int j = 0; j < i; ++j)
    if (m[j].type != 0 && btf_member_bit_offset(t, j) != 0) return true;
  return false;
}

struct pointer_found {
  std::string path, decl;
};

void find_pointers(const btf* b, unsigned id, const std::string& path, const std::string& field, int depth,
                   std::vector<pointer_found>& out) {
  unsigned rid = skip_aliases(b, id);
  const btf_type* t = btf__type_by_id(b, rid);
  if (!t || depth > 32) return;
  if (btf_is_ptr(t)) {
    out.push_back({path, declaration(b, id, field)});
  } else if (btf_is_array(t)) {
    find_pointers(b, btf_array(t)->type, path + "[]", field, depth + 1, out);
  } else if (btf_is_composite(t)) {
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i) {
      if (looks_static(t, i)) continue;
      std::string n = btf__name_by_offset(b, m[i].name_off) ? btf__name_by_offset(b, m[i].name_off) : "";
      // anonymous struct/union: its members are the parent's
      std::string sub = n.empty() ? path : (path.empty() ? n : path + "." + n);
      find_pointers(b, m[i].type, sub, n.empty() ? field : n, depth + 1, out);
    }
  }
}

// C string literal contents (paths and labels are tame, but be safe).
std::string escaped(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

class checker_writer {
 public:
  checker_writer(const btf* b, std::string program, std::string where)
      : b_(b), program_(std::move(program)), where_(std::move(where)) {}

  std::string body(unsigned params_id) {
    unsigned rid = skip_aliases(b_, params_id);
    const btf_type* t = btf__type_by_id(b_, rid);
    out_.clear();
    line(2, fmt("using T0 = Params;"));
    line(2,
         fmt("static_assert(sizeof(T0) == %u, \"%s: it is %u bytes there%s\");", unsigned(btf__resolve_size(b_, rid)),
             prefix().c_str(), unsigned(btf__resolve_size(b_, rid)), suffix()));
    if (t && btf_is_composite(t)) members(t, "T0", "", 0, 0, 2);
    line(2, "return true;");
    return out_;
  }

 private:
  std::string prefix() const {
    return escaped(fmt("iouloop: params_type differs from the one BPF program '%s' (%s) was compiled with",
                       program_.c_str(), where_.c_str()));
  }
  static const char* suffix() { return "; host and BPF object must compile the same params_type"; }
  void line(int indent, const std::string& s) { out_ += std::string(size_t(indent) * 2, ' ') + s + "\n"; }

  // The members of composite `t`, seen through alias `a`, whose members
  // start at byte `base` of `a` (non-zero inside anonymous members).
  void members(const btf_type* t, const std::string& a, const std::string& path, unsigned base, int depth, int indent) {
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i) {
      const char* raw = btf__name_by_offset(b_, m[i].name_off);
      std::string n = raw ? raw : "";
      if (m[i].type == 0) {
        if (!n.empty()) line(indent, "// '" + path + n + "': a method or constexpr static member, not data");
        continue;
      }
      unsigned bit = btf_member_bit_offset(t, i);
      unsigned off = base + bit / 8;
      unsigned rid = skip_aliases(b_, m[i].type);
      const btf_type* mt = btf__type_by_id(b_, rid);
      if (!mt) continue;
      if (btf_member_bitfield_size(t, i) != 0) {
        line(indent, fmt("// '%s%s': a bitfield (bit %u), not checked: offsetof cannot name it", path.c_str(),
                         n.c_str(), bit + base * 8));
        continue;
      }
      if (n.empty()) {  // anonymous struct or union: its members are a's
        if (btf_is_composite(mt) && depth < 8) members(mt, a, path, off, depth + 1, indent);
        continue;
      }
      std::string p = path + n;
      unsigned size = unsigned(btf__resolve_size(b_, rid));
      std::string has = fmt("requires { &%s::%s; }", a.c_str(), n.c_str());
      std::string mp = fmt("decltype(&%s::%s)", a.c_str(), n.c_str());
      line(indent, fmt("// '%s': byte %u, %u bytes", p.c_str(), off, size));
      line(indent, fmt("static_assert(%s, \"%s: member '%s' (byte %u, %u bytes there) is missing here%s\");",
                       has.c_str(), prefix().c_str(), p.c_str(), off, size, suffix()));
      line(indent, fmt("if constexpr (%s) {", has.c_str()));
      // a static data member on both sides has nothing to compare
      line(indent + 1, fmt("if constexpr (::iouloop::layout_check::is_data_member<%s>) {", mp.c_str()));
      int in = indent + 2;
      line(in, fmt("static_assert(__builtin_offsetof(%s, %s) == %u, \"%s: member '%s' is at byte %u there%s\");",
                   a.c_str(), n.c_str(), off, prefix().c_str(), p.c_str(), off, suffix()));
      // flexible and zero-length arrays have no size to compare
      bool sized = !(btf_is_array(mt) && btf_array(mt)->nelems == 0);
      if (sized)
        line(in, fmt("static_assert(sizeof(::iouloop::layout_check::member_t<%s>) == %u, \"%s: member '%s' is %u bytes "
                     "there%s\");",
                     mp.c_str(), size, prefix().c_str(), p.c_str(), size, suffix()));
      // array shape (a scalar has rank 0), then into nested structs and
      // unions, through arrays
      std::vector<unsigned> dims;
      unsigned eid = rid;
      for (int guard = 0; guard < 16; ++guard) {
        const btf_type* et = btf__type_by_id(b_, eid);
        if (!et || !btf_is_array(et)) break;
        dims.push_back(btf_array(et)->nelems);
        eid = skip_aliases(b_, btf_array(et)->type);
      }
      bool array = !dims.empty();
      bool zero_length = false;  // [0] or []: what rank and extent say of them varies by compiler
      for (unsigned d : dims) zero_length = zero_length || d == 0;
      if (!zero_length)
        line(in, fmt("static_assert(::iouloop::layout_check::rank<%s> == %zu, \"%s: member '%s' is %s there%s\");",
                     mp.c_str(), dims.size(), prefix().c_str(), p.c_str(),
                     array ? fmt("an array of %zu dimension%s", dims.size(), dims.size() > 1 ? "s" : "").c_str()
                           : "not an array",
                     suffix()));
      for (size_t d = 0; d < dims.size(); ++d)
        if (dims[d] != 0)
          line(in,
               fmt("static_assert(::iouloop::layout_check::extent<%s, %zu> == %u, \"%s: member '%s' has %u elements "
                   "in dimension %zu there%s\");",
                   mp.c_str(), d, dims[d], prefix().c_str(), p.c_str(), dims[d], d + 1, suffix()));
      const btf_type* et = btf__type_by_id(b_, eid);
      if (et && btf_is_composite(et)) {
        if (depth >= 8) {
          line(in, "// deeper members not checked (nesting limit)");
        } else {
          std::string sub = fmt("T%d", depth + 1);
          std::string ep = p + (array ? "[0]" : "");
          unsigned esize = unsigned(btf__resolve_size(b_, eid));
          line(in, fmt("using %s = ::iouloop::layout_check::element_t<%s>;", sub.c_str(), mp.c_str()));
          if (array)
            line(in, fmt("static_assert(sizeof(%s) == %u, \"%s: elements of '%s' are %u bytes there%s\");", sub.c_str(),
                         esize, prefix().c_str(), p.c_str(), esize, suffix()));
          members(et, sub, ep + ".", 0, depth + 1, in);
        }
      }
      line(indent + 1, "}");
      line(indent, "}");
    }
  }

  const btf* b_;
  std::string program_, where_, out_;
};

struct program_probe {
  std::string name;
  unsigned params_id = 0;       // the params_type (through the probe pointer)
  long long region_bytes = -1;  // from NAME_layout_region
};

int usage() {
  std::fprintf(stderr, "usage: btf_layout PROBE.o --namespace NS --label LABEL --out FRAGMENT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string object, ns, label, out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--namespace" || a == "--label" || a == "--out") && i + 1 < argc) {
      (a == "--namespace" ? ns : a == "--label" ? label : out) = argv[++i];
    } else if (!a.empty() && a[0] != '-' && object.empty()) {
      object = a;
    } else {
      return usage();
    }
  }
  if (object.empty() || ns.empty() || out.empty()) return usage();
  if (label.empty()) label = ns;

  libbpf_set_print(nullptr);
  btf* b = btf__parse_elf(object.c_str(), nullptr);
  if (!b) {
    int e = errno;
    std::fprintf(stderr, "btf_layout: cannot read BTF from %s: %s%s\n", object.c_str(), std::strerror(e),
                 e == ENOENT ? "" : " (was it compiled with -g?)");
    return 1;
  }

  const std::string probe_suffix = "_layout_probe", region_suffix = "_layout_region";
  std::map<std::string, program_probe> programs;
  unsigned n = btf__type_cnt(b);
  for (unsigned id = 1; id < n; ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_var(t)) continue;
    std::string v = name_of(b, t);
    for (const std::string* suf : {&probe_suffix, &region_suffix}) {
      if (v.size() <= suf->size() || v.compare(v.size() - suf->size(), suf->size(), *suf) != 0) continue;
      program_probe& p = programs[v.substr(0, v.size() - suf->size())];
      p.name = v.substr(0, v.size() - suf->size());
      const btf_type* pt = btf__type_by_id(b, skip_aliases(b, t->type));
      if (!pt || !btf_is_ptr(pt)) continue;
      if (suf == &probe_suffix) {
        p.params_id = pt->type;
      } else {
        const btf_type* at = btf__type_by_id(b, skip_aliases(b, pt->type));
        if (at && btf_is_array(at)) p.region_bytes = btf_array(at)->nelems;
      }
    }
  }

  int status = 0;
  for (auto& [name, p] : programs) {
    if (p.params_id == 0 || p.region_bytes < 0) {
      std::fprintf(stderr,
                   "btf_layout: %s: %s: the probe object's BTF lacks %s_layout_probe or %s_layout_region (was "
                   "it compiled with -DIOULOOP_LAYOUT_PROBE and the same iouloop/bpf/program.hpp?)\n",
                   label.c_str(), name.c_str(), name.c_str(), name.c_str());
      status = 1;
      continue;
    }
    std::vector<pointer_found> pointers;
    find_pointers(b, p.params_id, "", "", 0, pointers);
    const btf_type* pt = btf__type_by_id(b, skip_aliases(b, p.params_id));
    std::string type_name = pt ? declaration(b, skip_aliases(b, p.params_id), "") : "params_type";
    while (!type_name.empty() && type_name.back() == ' ') type_name.pop_back();
    if (pointers.empty()) continue;
    std::fprintf(stderr, "%s: error: BPF program '%s': its params_type (%s) holds %s:\n", label.c_str(), name.c_str(),
                 type_name.c_str(), pointers.size() == 1 ? "a pointer" : "pointers");
    for (const pointer_found& f : pointers)
      std::fprintf(stderr, "  member '%s' is a pointer: %s\n",
                   f.path.empty() ? "(the params_type itself)" : f.path.c_str(), f.decl.c_str());
    std::fprintf(stderr,
                 "  A BPF program cannot use a pointer from the host: the verifier refuses its use when the "
                 "object loads, while the userspace engine runs it.\n"
                 "  Use user addresses: store one as an iouloop::uaddr (the host writes "
                 "iouloop::uaddr::of(ptr); the policy puts it in SQEs as is), and for memory inside "
                 "the params take loop.user_addr(field).\n");
    status = 1;
  }
  if (status != 0) {
    btf__free(b);
    return status;
  }

  std::string text;
  text += "// Params layouts as BPF object " + label + " was compiled with, read from the BTF of\n";
  text += "// its layout probe by bpf/btf_layout.cc. bpf_engine's constructor taking one of\n";
  text += "// these handles checks the host's params_type against it at compile time.\n";
  if (programs.empty()) text += "// (no IOULOOP_BPF_POLICY in it: no handles, nothing to check)\n";
  text += "namespace programs {\n";
  for (auto& [name, p] : programs) {
    const btf_type* pt = btf__type_by_id(b, skip_aliases(b, p.params_id));
    std::string type_name = pt ? declaration(b, skip_aliases(b, p.params_id), "") : "params_type";
    while (!type_name.empty() && type_name.back() == ' ') type_name.pop_back();
    checker_writer w(b, name, label);
    text += "// IOULOOP_BPF_POLICY(" + name + ", ...): params " + type_name + ", " +
            std::to_string(btf__resolve_size(b, skip_aliases(b, p.params_id))) + " bytes, in a " +
            std::to_string(p.region_bytes) + "-byte region.\n";
    text += "struct " + name + " {\n";
    text += "  static constexpr const char* name = \"" + name + "\";\n";
    text += "  static constexpr ::iouloop::usize region_bytes = " + std::to_string(p.region_bytes) + ";\n";
    text += "  static ::iouloop::bpf_image image() { return ::" + ns + "::image(); }\n";
    text += "  // Named members are compared by name, offset and size, through nested\n";
    text += "  // structs, unions and array elements; bitfields are not (offsetof cannot name them).\n";
    text += "  template <class Params>\n";
    text += "  static consteval bool layout_matches() {\n";
    text += w.body(p.params_id);
    text += "  }\n";
    text += "};\n";
  }
  text += "}  // namespace programs\n";
  btf__free(b);

  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::fprintf(stderr, "btf_layout: cannot write %s\n", out.c_str());
    return 1;
  }
  return 0;
}
