#include "trainer/launcher.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "reference/core/error.hpp"

namespace amt::trainer {
namespace {

volatile sig_atomic_t g_forward_signal = 0;

extern "C" void on_launcher_signal(int sig) {
  g_forward_signal = sig;
}

// A port nobody listens on now (the kernel picks it); rank 0's store binds it a moment later.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw IoError("127.0.0.1", std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw IoError("127.0.0.1", "no free port: " + why);
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int launch_local_ranks(const LaunchOptions& o, std::ostream& err) {
  if (o.nproc < 1) throw ConfigError("--nproc " + std::to_string(o.nproc) + ": must be >= 1");
  const int port = free_loopback_port();
  g_forward_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_launcher_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::map<pid_t, int64_t> running;  // pid → rank
  for (int64_t rank = 0; rank < o.nproc; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) throw IoError(o.program, std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);  // ranks sharing this host's cores
      std::vector<std::string> args = o.args;
      std::vector<char*> argv;
      std::string prog = o.program;
      argv.push_back(prog.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(prog.c_str(), argv.data());
      _exit(127);
    }
    running[pid] = rank;
  }

  int forwarded = 0;
  int64_t failed_rank = -1;
  int failed_status = 0, root_status = 0;
  std::chrono::steady_clock::time_point kill_at{};
  bool killed = false;
  while (!running.empty()) {
    if (g_forward_signal && !forwarded) {
      forwarded = g_forward_signal;
      for (const auto& [pid, rank] : running) ::kill(pid, forwarded);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (failed_rank >= 0 && !killed && std::chrono::steady_clock::now() >= kill_at) {
        for (const auto& [p, r] : running) ::kill(p, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    std::vector<std::pair<int64_t, int>> exited = {{it->second, status}};
    running.erase(it);
    const auto is_failure = [&](int st) {
      return exit_code_of(st) != 0 && !(forwarded && exit_code_of(st) == 128 + forwarded);
    };
    if (failed_rank < 0 && is_failure(status)) {
      // A rank that died takes its peers down within moments (their collectives fail): reap those too, and
      // name the one that was killed (the cause) rather than the ones that then failed.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      pid_t more = 0;
      while ((more = ::waitpid(-1, &status, WNOHANG)) > 0) {
        const auto m = running.find(more);
        if (m == running.end()) continue;
        exited.emplace_back(m->second, status);
        running.erase(m);
      }
    }
    int64_t cause = -1;
    for (size_t i = 0; i < exited.size(); ++i) {
      if (exited[i].first == 0) root_status = exited[i].second;
      if (!is_failure(exited[i].second)) continue;
      if (cause < 0 ||
          (WIFSIGNALED(exited[i].second) && !WIFSIGNALED(exited[static_cast<size_t>(cause)].second)))
        cause = static_cast<int64_t>(i);
    }
    if (failed_rank < 0 && cause >= 0) {
      failed_rank = exited[static_cast<size_t>(cause)].first;
      failed_status = exited[static_cast<size_t>(cause)].second;
      err << "amt_ref_train --nproc " << o.nproc << ": rank " << failed_rank << " "
          << describe_status(failed_status) << (running.empty() ? "" : "; stopping the other ranks")
          << std::endl;
      for (const auto& [p, r] : running) ::kill(p, SIGTERM);
      kill_at = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<int64_t>(o.grace_s * 1000.0));
    }
  }
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  if (failed_rank >= 0) return exit_code_of(failed_status) == 0 ? 3 : exit_code_of(failed_status);
  return exit_code_of(root_status);
}

}  // namespace amt::trainer
