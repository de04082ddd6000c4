// A file descriptor closed on every path out of a scope (the parsers and atomic writers share it).
#pragma once
#include <unistd.h>

#include <utility>

namespace amt::io {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Gives up ownership (the caller closes it, e.g. to check close()'s result before a rename).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace amt::io
