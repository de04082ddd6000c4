#include "reference/io/file_bytes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reference/core/error.hpp"
#include "reference/io/unique_fd.hpp"

namespace amt::io {
namespace {

[[noreturn]] void throw_io(const std::string& path, const std::string& what, int err) {
  throw IoError(path, what + ": " + std::strerror(err));
}

}  // namespace

std::string read_file_bytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_io(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io(path, "cannot stat", errno);
  if (S_ISDIR(st.st_mode)) throw IoError(path, "is a directory");
  std::string bytes;
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), &bytes[done], bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "cannot read", errno);
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes, bool sync) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_io(path, "cannot create " + tmp, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::unlink(tmp.c_str());
      throw_io(path, "cannot write " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_io(path, "cannot fsync " + tmp, err);
  }
  if (::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_io(path, "cannot close " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_io(path, "cannot rename " + tmp, err);
  }
}

void sync_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

void sync_parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  sync_directory(slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash)));
}

}  // namespace amt::io
