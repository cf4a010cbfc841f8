// call_check: the build-time check that libbpf can load a BPF object's calls
// (run by the iouloop_bpf_program rule, bpf/defs.bzl, on every object).
//
//   call_check OBJECT.o --label LABEL [--subprograms] [--stamp FILE]
//
// The rule compiles a C++ policy with every function always-inline, so a
// program is one flat function whose only calls are BPF helpers and kfuncs.
// A call that is left is one that libbpf refuses when the object is opened
// (a C++ inline function or template is emitted, weak, in a COMDAT section
// of its own, and libbpf cannot relocate a call into it: "bad call relo ...
// errno 4005"), or one the verifier refuses at load (recursion), and only on
// the BPF engine: the userspace engine would run the same policy. So each
// call the object still holds fails the build here, naming the function
// (demangled) and what to do:
// - a call to a function defined in the object (marked noinline, or
//   recursive, so the compiler could not inline it);
// - a call to a function declared but not defined, other than a kfunc
//   (a function in the object's .ksyms BTF section).
// With --subprograms (hand-written C sources), calls to functions in .text
// are accepted: libbpf loads those as BPF-to-BPF calls.
//
// Exit status 0 when every call is loadable (FILE, the rule's output, is then
// written), 1 (messages on stderr) if not, 2 when the object cannot be read.
#include <bpf/btf.h>
#include <cxxabi.h>
#include <elf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

std::string demangle(const std::string& name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !d) return name;
  std::string out(d);
  std::free(d);
  return out;
}

// An ELF64 little-endian relocatable object, as clang -target bpf writes it.
struct object {
  std::vector<char> bytes;
  std::vector<Elf64_Shdr> sections;
  std::vector<Elf64_Sym> symbols;
  const char* section_names = nullptr;
  const char* symbol_names = nullptr;

  bool read(const char* path, std::string& why) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return why = "cannot open it", false;
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof(Elf64_Ehdr)) return why = "not an ELF file", false;
    Elf64_Ehdr eh;
    std::memcpy(&eh, bytes.data(), sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_BPF ||
        eh.e_shentsize != sizeof(Elf64_Shdr))
      return why = "not a 64-bit BPF ELF object", false;
    if (eh.e_shoff + u64(eh.e_shnum) * sizeof(Elf64_Shdr) > bytes.size()) return why = "truncated", false;
    sections.resize(eh.e_shnum);
    std::memcpy(sections.data(), bytes.data() + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
    if (eh.e_shstrndx >= sections.size()) return why = "no section names", false;
    section_names = data(sections[eh.e_shstrndx]);
    for (const Elf64_Shdr& s : sections) {
      if (s.sh_type != SHT_SYMTAB) continue;
      if (s.sh_link >= sections.size()) return why = "bad symbol table", false;
      symbols.resize(s.sh_size / sizeof(Elf64_Sym));
      std::memcpy(symbols.data(), data(s), symbols.size() * sizeof(Elf64_Sym));
      symbol_names = data(sections[s.sh_link]);
    }
    if (!symbol_names) return why = "no symbol table", false;
    for (const Elf64_Shdr& s : sections)
      if (s.sh_type != SHT_NOBITS && s.sh_offset + s.sh_size > bytes.size()) return why = "truncated", false;
    return true;
  }
  using u64 = unsigned long long;
  const char* data(const Elf64_Shdr& s) const { return bytes.data() + s.sh_offset; }
  std::string section_name(size_t i) const { return section_names + sections[i].sh_name; }
  std::string symbol_name(const Elf64_Sym& s) const { return symbol_names + s.st_name; }

  // The function symbol in section `sec` whose code holds byte `off`.
  std::string function_at(size_t sec, u64 off) const {
    for (const Elf64_Sym& s : symbols)
      if (ELF64_ST_TYPE(s.st_info) == STT_FUNC && s.st_shndx == sec && s.st_value <= off &&
          (off < s.st_value + s.st_size || (s.st_size == 0 && s.st_value == off)))
        return symbol_name(s);
    return "";
  }
};

// kfuncs: the functions the object declares in its .ksyms BTF section.
std::set<std::string> kfuncs(const char* path) {
  std::set<std::string> out;
  struct btf* b = btf__parse_elf(path, nullptr);
  if (!b) return out;
  for (unsigned id = 1; id < btf__type_cnt(b); ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_datasec(t) || std::strcmp(btf__name_by_offset(b, t->name_off), ".ksyms") != 0) continue;
    const btf_var_secinfo* v = btf_var_secinfos(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
      const btf_type* f = btf__type_by_id(b, v[i].type);
      if (f && btf_is_func(f)) out.insert(btf__name_by_offset(b, f->name_off));
    }
  }
  btf__free(b);
  return out;
}

struct call {
  std::string caller, caller_section, callee, callee_section;
  bool defined;
};

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  std::string label = "iouloop_bpf_program";
  bool subprograms = false;
  const char* stamp = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--label") && i + 1 < argc) {
      label = argv[++i];
    } else if (!std::strcmp(argv[i], "--stamp") && i + 1 < argc) {
      stamp = argv[++i];
    } else if (!std::strcmp(argv[i], "--subprograms")) {
      subprograms = true;
    } else if (!path && argv[i][0] != '-') {
      path = argv[i];
    } else {
      std::fprintf(stderr, "usage: call_check OBJECT.o --label LABEL [--subprograms] [--stamp FILE]\n");
      return 2;
    }
  }
  if (!path) {
    std::fprintf(stderr, "usage: call_check OBJECT.o --label LABEL [--subprograms] [--stamp FILE]\n");
    return 2;
  }
  object o;
  std::string why;
  if (!o.read(path, why)) {
    std::fprintf(stderr, "%s: error: cannot read the BPF object %s: %s\n", label.c_str(), path, why.c_str());
    return 2;
  }
  const std::set<std::string> ksyms = kfuncs(path);

  // Relocations by (code section, byte offset).
  std::map<std::pair<size_t, unsigned long long>, const Elf64_Sym*> relocs;
  for (const Elf64_Shdr& s : o.sections) {
    if (s.sh_type != SHT_REL || s.sh_info >= o.sections.size()) continue;
    const Elf64_Rel* r = reinterpret_cast<const Elf64_Rel*>(o.data(s));
    for (size_t i = 0; i < s.sh_size / sizeof(Elf64_Rel); ++i) {
      size_t sym = ELF64_R_SYM(r[i].r_info);
      if (sym < o.symbols.size()) relocs[{s.sh_info, r[i].r_offset}] = &o.symbols[sym];
    }
  }

  std::vector<call> bad;
  std::set<std::string> seen;
  for (size_t sec = 0; sec < o.sections.size(); ++sec) {
    const Elf64_Shdr& s = o.sections[sec];
    if (s.sh_type != SHT_PROGBITS || !(s.sh_flags & SHF_EXECINSTR)) continue;
    const unsigned char* code = reinterpret_cast<const unsigned char*>(o.data(s));
    for (unsigned long long off = 0; off + 8 <= s.sh_size; off += 8) {
      const unsigned char op = code[off], src_reg = code[off + 1] >> 4;
      if (op != 0x85) continue;  // BPF_JMP | BPF_CALL
      auto r = relocs.find({sec, off});
      if (r == relocs.end() && src_reg != 1) continue;  // a helper (or a resolved kfunc)
      call c{o.function_at(sec, off), o.section_name(sec), "", "", true};
      if (r != relocs.end()) {
        const Elf64_Sym& sym = *r->second;
        if (sym.st_shndx == SHN_UNDEF) {
          c.callee = o.symbol_name(sym);
          c.defined = false;
          if (ksyms.count(c.callee)) continue;                   // a kfunc: libbpf resolves it against the kernel
        } else if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION) {  // a static function: offset in the insn
          int imm;
          std::memcpy(&imm, code + off + 4, 4);
          c.callee = o.function_at(sym.st_shndx, (unsigned long long)(imm + 1) * 8 + sym.st_value);
          c.callee_section = o.section_name(sym.st_shndx);
        } else {
          c.callee = o.symbol_name(sym);
          c.callee_section = sym.st_shndx < o.sections.size() ? o.section_name(sym.st_shndx) : "";
        }
      } else {  // a BPF-to-BPF call resolved by the compiler, within this section
        int imm;
        std::memcpy(&imm, code + off + 4, 4);
        c.callee = o.function_at(sec, off + (long long)(imm + 1) * 8);
        c.callee_section = c.caller_section;
      }
      if (c.defined && subprograms && c.callee_section == ".text") continue;
      if (seen.insert(c.caller + "\n" + c.callee).second) bad.push_back(c);
    }
  }
  if (bad.empty()) {
    if (stamp) {
      std::FILE* f = std::fopen(stamp, "w");
      if (!f || std::fputs("every call is a helper or a kfunc\n", f) < 0 || std::fclose(f) != 0) {
        std::fprintf(stderr, "%s: error: cannot write %s\n", label.c_str(), stamp);
        return 2;
      }
    }
    return 0;
  }

  std::fprintf(stderr, "%s: error: the BPF object %s holds calls that libbpf cannot load:\n", label.c_str(), path);
  bool not_inlined = false, external = false;
  std::set<std::string> recursive;
  for (const call& c : bad)
    if (c.caller == c.callee) recursive.insert(c.callee);
  for (const call& c : bad) {
    if (c.caller == c.callee) continue;  // said with the call into it
    std::string who = "function '" + demangle(c.caller) + "'";
    // IOULOOP_BPF_POLICY(NAME, ...) defines the program NAME_step
    const std::string& f = c.caller;
    if (c.caller_section.rfind("struct_ops", 0) == 0 && f.size() > 5 && f.compare(f.size() - 5, 5, "_step") == 0)
      who = "BPF program '" + f.substr(0, f.size() - 5) + "' (" + f + ")";
    if (c.defined) {
      not_inlined = true;
      std::fprintf(stderr, "  %s calls '%s', which was not inlined: %s (section %s)\n", who.c_str(),
                   demangle(c.callee).c_str(),
                   recursive.count(c.callee) ? "it is recursive" : "it is marked noinline, or recursive through others",
                   c.callee_section.c_str());
    } else {
      external = true;
      std::fprintf(stderr, "  %s calls '%s', which is declared but not defined in this translation unit\n", who.c_str(),
                   demangle(c.callee).c_str());
    }
  }
  if (not_inlined)
    std::fprintf(stderr,
                 "  iouloop_bpf_program makes every function of a policy always-inline (a BPF program is one flat\n"
                 "  function: libbpf cannot relocate a call to a C++ inline function, which lives in a COMDAT\n"
                 "  section of its own). A function is left out-of-line when it is marked\n"
                 "  __attribute__((noinline)) (remove the attribute) or is recursive, directly or through others\n"
                 "  (write it as a loop with a bound known at compile time).\n");
  if (external)
    std::fprintf(stderr,
                 "  A BPF object is not linked: define the function in a header the policy includes; a kernel\n"
                 "  function (kfunc) is declared extern \"C\" with __attribute__((section(\".ksyms\"))).\n");
  return 1;
}
