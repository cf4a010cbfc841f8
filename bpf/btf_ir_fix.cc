// btf_ir_fix IN.ll OUT.ll — makes C++ debug types in LLVM IR text look like
// the C types the BPF backend's BTF emission expects:
//  - member-function declarations (DISubprogram nodes without
//    DISPFlagDefinition) and static data members leave the element lists of
//    struct and class types, and so do private and protected data members
//    (the params layout check names every member it finds, and the host
//    cannot name those: the type's size is still checked);
//  - DW_TAG_class_type becomes DW_TAG_structure_type.
// Everything else stays as it is: the code, the types' fields and bases, the
// functions' own debug info.
//
// Why: Debian sid's clang 21.1.8 and 22.1.8 crash in the BPF backend's BTF
// emission (SIGTRAP or SIGSEGV in code generation) on a C++ class with a
// member function, a static data member, or declared `class`, which every
// iouloop policy has (ring views, uaddr, bounded_array). BTF has no member
// functions, no static members and no class/struct distinction, so nothing
// is lost. clang 19 does not need this. iouloop_bpf_program runs it between clang's front end
// (-disable-llvm-passes -emit-llvm) and its back end, only for a clang that
// fails third_party/system.bzl's self-check (docs/toolchains.md).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// "!123 = ..." -> 123; -1 for other lines.
long node_id(const std::string& line) {
  if (line.size() < 2 || line[0] != '!' || !isdigit(static_cast<unsigned char>(line[1]))) return -1;
  std::size_t end = 1;
  while (end < line.size() && isdigit(static_cast<unsigned char>(line[end]))) ++end;
  if (line.compare(end, 3, " = ") != 0) return -1;
  return std::stol(line.substr(1, end - 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: btf_ir_fix IN.ll OUT.ll\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "btf_ir_fix: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  std::set<long> decls;      // member-function declarations, static members
  std::set<long> hidden;     // data members a class keeps private or protected
  std::set<long> in_struct;  // data members with no access flag (public in a struct,
                             // private in a class)
  std::set<long> elements;   // element lists of composite types
  std::set<long> of_class;   // ... of types declared `class`
  const std::regex elements_ref(R"(elements: !(\d+))");
  for (const std::string& line : lines) {
    const long id = node_id(line);
    if (id < 0) continue;
    if ((line.find(" = !DISubprogram(") != std::string::npos ||
         line.find(" = distinct !DISubprogram(") != std::string::npos) &&
        line.find("DISPFlagDefinition") == std::string::npos)
      decls.insert(id);
    // Static data members (static constexpr ...): not part of the layout.
    if (line.find(" = !DIDerivedType(tag: DW_TAG_") != std::string::npos &&
        line.find("DIFlagStaticMember") != std::string::npos)
      decls.insert(id);
    std::smatch m;
    if (line.find("!DICompositeType(") != std::string::npos && std::regex_search(line, m, elements_ref)) {
      elements.insert(std::stol(m[1]));
      if (line.find("DW_TAG_class_type") != std::string::npos) of_class.insert(std::stol(m[1]));
    }
    // Data members the host cannot name (the layout check takes their
    // address: bpf/btf_layout.cc): the enclosing type's size is still
    // checked, its private parts are not.
    if (line.find(" = !DIDerivedType(tag: DW_TAG_member") != std::string::npos &&
        line.find("DIFlagStaticMember") == std::string::npos) {
      if (line.find("DIFlagPrivate") != std::string::npos || line.find("DIFlagProtected") != std::string::npos)
        hidden.insert(id);
      else if (line.find("DIFlagPublic") == std::string::npos)
        in_struct.insert(id);
    }
  }

  for (std::string& line : lines) {
    const long id = node_id(line);
    if (id < 0 || !elements.count(id)) continue;
    const bool is_class = of_class.count(id) != 0;
    const std::size_t open = line.find("!{"), close = line.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    std::stringstream items(line.substr(open + 2, close - open - 2));
    std::string kept, item;
    while (std::getline(items, item, ',')) {
      const std::size_t b = item.find_first_not_of(' ');
      const std::string ref = b == std::string::npos ? "" : item.substr(b);
      const long rid = ref.size() > 1 && ref[0] == '!' ? std::stol(ref.substr(1)) : -1;
      if (decls.count(rid) || hidden.count(rid) || (is_class && in_struct.count(rid))) {
        continue;
      }
      kept += (kept.empty() ? "" : ", ") + ref;
    }
    line = line.substr(0, open + 2) + kept + line.substr(close);
  }

  for (std::string& line : lines) {
    const std::size_t at = line.find("!DICompositeType(tag: DW_TAG_class_type");
    if (node_id(line) >= 0 && at != std::string::npos)
      line.replace(at + std::string("!DICompositeType(tag: ").size(), std::string("DW_TAG_class_type").size(),
                   "DW_TAG_structure_type");
  }

  std::ofstream out(argv[2]);
  for (const std::string& line : lines) out << line << '\n';
  if (!out) {
    std::cerr << "btf_ir_fix: cannot write " << argv[2] << "\n";
    return 1;
  }
  return 0;
}
