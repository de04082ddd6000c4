// The exit codes of every AMT-Ref program (README "Exit codes"), defined once.
#pragma once

namespace amt::program {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;  // a check failed: conformance, verify, replay, the mutation score
constexpr int kExitBadInput = 2;  // a bad command line, or an amt::Error (the message names file and field)
constexpr int kExitInternal = 3;  // a LibTorch, OpenCV or out-of-memory error
constexpr int kExitGateRefused = 4;   // amt_ref_train: the conformance gate failed, nothing trained
constexpr int kExitSignalBase = 128;  // amt_ref_train stopped by a signal: 128 + its number (130 SIGINT)

}  // namespace amt::program
