#ifndef CPREEMPTION_H
#define CPREEMPTION_H
/// Preemption signals for `dcft train` (Train/Preemption.swift): SIGTERM, SIGINT, SIGUSR1 and
/// SIGUSR2 set a flag the training loop reads once per step. The handlers reset themselves
/// (SA_RESETHAND), so a second signal of the same kind has its default effect (a second Ctrl-C
/// stops at once).
void dcft_preemption_install(void);
/// The first preemption signal received, or 0.
int dcft_preemption_signal(void);
#endif
