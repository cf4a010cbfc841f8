// Temporary files with known contents, for copy tests.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "examples/common/bytes.hpp"
#include "iouloop/engine/owned.hpp"

namespace testfiles {

// Deterministic bytes: the same seed gives the same file on every engine.
using iouloop_examples::pattern;

inline std::string temp_dir() {
  const char* t = std::getenv("TEST_TMPDIR");
  if (!t) t = std::getenv("TMPDIR");
  return t ? t : "/tmp";
}

// A number from a file such as a sysctl's: -1 if it cannot be read.
inline int read_int(const char* path) {
  std::ifstream f(path);
  int v = -1;
  f >> v;
  return v;
}
// Writes v and reads it back: true if the file now says v.
inline bool write_int(const char* path, int v) {
  std::ofstream f(path);
  f << v;
  f.close();
  return f.good() && read_int(path) == v;
}

// A file removed (and closed) on destruction.
class temp_file {
 public:
  explicit temp_file(const std::string& tag) {
    path_ = temp_dir() + "/iouloop-" + tag + "-XXXXXX";
    fd_.reset(::mkstemp(path_.data()));
    if (!fd_) throw std::runtime_error("mkstemp failed in " + temp_dir());
  }
  temp_file(const std::string& tag, const std::vector<unsigned char>& contents) : temp_file(tag) {
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = ::pwrite(fd_.get(), contents.data() + done, contents.size() - done, done);
      if (n <= 0) throw std::runtime_error("pwrite failed");
      done += size_t(n);
    }
  }
  ~temp_file() { ::unlink(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  std::vector<unsigned char> read_all() const {
    struct stat st{};
    ::fstat(fd_.get(), &st);
    std::vector<unsigned char> v(size_t(st.st_size));
    size_t done = 0;
    while (done < v.size()) {
      ssize_t n = ::pread(fd_.get(), v.data() + done, v.size() - done, done);
      if (n <= 0) break;
      done += size_t(n);
    }
    v.resize(done);
    return v;
  }

 private:
  std::string path_;
  iouloop::unique_fd fd_;
};

// Page-aligned anonymous memory for I/O buffers.
class buffers {
 public:
  explicit buffers(size_t bytes) : m_(iouloop::mapping::anonymous(bytes, "I/O buffers")) {}
  iouloop::uaddr addr() const { return iouloop::uaddr::of(m_.data()); }

 private:
  iouloop::mapping m_;
};

}  // namespace testfiles
