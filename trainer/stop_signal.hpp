// SIGINT / SIGTERM for the training loop: the first one sets a flag that the loop reads after each optimizer
// step (it then saves a checkpoint and exits); a second one restores the default action, so a stuck run can
// still be stopped the ordinary way.
#pragma once

namespace amt::trainer {

void install_stop_signals();
// 0 while no stop was requested; the signal number otherwise.
int stop_signal();

}  // namespace amt::trainer
