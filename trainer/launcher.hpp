// `amt_ref_train --nproc N`: N ranks of the same program on this host, as torchrun would start them (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, MASTER_PORT = a free port), supervised:
//   - SIGINT/SIGTERM to the launcher are passed on to every rank (the ranks agree on the step to stop at,
//     rank 0 saves the checkpoint, each exits 128 + signal);
//   - the first rank that fails (a non-zero exit or a signal it did not get from us) is named on stderr, the
//     others are sent SIGTERM, and whatever still runs after `grace_s` gets SIGKILL: no hang, whatever the
//     state of their collectives;
//   - the exit code is the failed rank's (128 + signal when it was killed), else rank 0's.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace amt::trainer {

struct LaunchOptions {
  int64_t nproc = 1;
  std::string program = "/proc/self/exe";
  std::vector<std::string> args;  // the rank's arguments (without --nproc)
  double grace_s = 15.0;          // after a failure: SIGTERM, then SIGKILL this much later
};

// Starts the ranks and waits for them. amt::ConfigError for nproc < 1; amt::IoError when no free port or no
// process can be had.
int launch_local_ranks(const LaunchOptions& options, std::ostream& err);

// Removes "--nproc N" / "--nproc=N" from a command line (the ranks must not launch again).
std::vector<std::string> without_nproc(const std::vector<std::string>& args);

}  // namespace amt::trainer
