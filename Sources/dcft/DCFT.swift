import ArgumentParser
import HDF5Kit
import Foundation
import CCPUCheck
import TensorCore

/// `dcft`: fine-tune transformer encoders with DCFT adapters, data-parallel over MPI.
@main
struct DCFT: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dcft",
        abstract: "Fine-tune transformer encoders with DCFT adapters, data-parallel over MPI.",
        discussion: """
            Launch training under MPI, e.g.
              mpirun -np 2 dcft train --config configs/glue/rte.yaml
            See README.md for the set-up commands and every subcommand's options.
            """,
        version: version,
        subcommands: [Prepare.self, TrainCommand.self, Plan.self, Eval.self, Predict.self, Merge.self, Bench.self, Inspect.self, Plot.self]
    )

    /// Before anything else (and before MPI starts): if OpenBLAS chose kernels weaker than the
    /// CPU supports and the user did not choose them, restart with the right ones
    /// (`BLASKernelCheck.applyAutomaticFix`).
    static func main() {
        #if DCFT_BASELINE_X86_64_V3
        guard dcft_cpu_has_x86_64_v3() != 0 else {
            fputs("dcft: this binary was built for x86-64-v3 (AVX2, FMA, BMI2), which this CPU lacks; rebuild it for any x86-64 with: DCFT_TARGET_CPU=generic swift build -c release (after rm -rf .build)\n", stderr)
            Foundation.exit(3)
        }
        #endif
        HDF5Process.disableExitCleanup()
        BLASKernelCheck.applyAutomaticFix()
        main(nil)
    }
}

/// The start-up report of train, eval and bench: CPU features and BLAS kernels (with a warning
/// or note when they differ), and a refusal when the BLAS computes wrong products here.
func checkBLAS(print say: (String) -> Void) throws {
    let check = BLASKernelCheck.current()
    for line in check.report { say(line) }
    guard BLASKernelCheck.sgemmAgrees() else {
        throw ValidationError("BLAS sgemm with the \(check.coreName) kernels gives wrong results on this CPU (checked against a Double product); choose other kernels, e.g. OPENBLAS_CORETYPE=\(ISALevel.avx2.openBLASCoreType ?? "Haswell"), and retry")
    }
}
