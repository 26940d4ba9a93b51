import CPreemption

/// Preemption: SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 to any rank (mpirun forwards SIGUSR1/2 at
/// once, and SIGTERM before its SIGKILL after `odls_base_sigkill_timeout`) asks the run to stop
/// at the next step boundary. The flag rides in the step's gradient allreduce (a spare slot), so
/// every rank learns of it in the same step: all finish that step, rank 0 writes a checkpoint,
/// and `dcft train` exits with `exitCode` ("preempted, resumable"); `--resume auto` continues
/// bit-identically.
public enum Preemption {
    /// `EX_TEMPFAIL`: the job stopped early on a signal, with a checkpoint to resume from.
    public static let exitCode: Int32 = 75

    /// Installs the handlers (once per process, by `dcft train`).
    public static func install() { dcft_preemption_install() }

    /// The first preemption signal this process received, or 0.
    public static var signal: Int32 { dcft_preemption_signal() }
}
