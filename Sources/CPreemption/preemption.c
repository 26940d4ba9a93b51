#include "cpreemption.h"
#include <pthread.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t received = 0;

static void handler(int sig) {
    if (!received) received = sig;
}

void dcft_preemption_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int signals[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    sigset_t unblock;
    sigemptyset(&unblock);
    for (unsigned i = 0; i < sizeof signals / sizeof *signals; i++) {
        sigaction(signals[i], &sa, 0);
        sigaddset(&unblock, signals[i]);
    }
    // A launcher may start us with these blocked (the mask is inherited): unblock them.
    pthread_sigmask(SIG_UNBLOCK, &unblock, 0);
}

int dcft_preemption_signal(void) { return received; }
