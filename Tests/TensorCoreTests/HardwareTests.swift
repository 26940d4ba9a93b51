import Testing
import Foundation
@testable import TensorCore

@Suite("CPU features and BLAS kernel check")
struct HardwareTests {
    static let zen4 = CPUFeatures(modelName: "test CPU", flags: ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                                                 "avx512dq", "avx512cd", "avx512_bf16"])
    static let haswell = CPUFeatures(modelName: "test CPU", flags: ["sse2", "avx", "avx2", "fma"])

    @Test("kernel sets and CPUs map to instruction levels")
    func levels() {
        #expect(ISALevel.ofOpenBLASCore("Prescott") == .sse && ISALevel.ofOpenBLASCore("Haswell") == .avx2)
        #expect(ISALevel.ofOpenBLASCore("Zen") == .avx2 && ISALevel.ofOpenBLASCore("Cooperlake") == .avx512)
        #expect(ISALevel.ofOpenBLASCore("SkylakeX") == .avx512 && ISALevel.ofOpenBLASCore("ARMV8") == nil)
        #expect(Self.zen4.level == .avx512 && Self.haswell.level == .avx2)
        #expect(CPUFeatures(modelName: "", flags: ["avx512f", "avx2", "fma"]).level == .avx2, "AVX-512F alone is not SkylakeX")
        #expect(Self.zen4.summary == "AVX2+FMA, AVX-512, AVX512-BF16, no AMX")
    }

    func check(_ cpu: CPUFeatures, _ core: String, user: String? = nil, fixedFrom: String? = nil) -> BLASKernelCheck {
        BLASKernelCheck(cpu: cpu, coreName: core, configuration: "OpenBLAS 0.3.21 DYNAMIC_ARCH", userCoreType: user, fixedFrom: fixedFrom)
    }

    @Test("verdicts: weak kernels are fixed only when the user did not choose them")
    func verdicts() {
        #expect(check(Self.zen4, "Prescott").verdict == .weak(recommended: "SkylakeX"))
        #expect(check(Self.haswell, "Prescott").verdict == .weak(recommended: "Haswell"))
        #expect(check(Self.zen4, "Prescott", user: "Prescott").verdict == .userChoice(recommended: "SkylakeX"))
        #expect(check(Self.zen4, "Haswell", user: "Haswell").verdict == .userChoice(recommended: "SkylakeX"))
        #expect(check(Self.zen4, "Cooperlake").verdict == .matches)
        #expect(check(Self.haswell, "Haswell").verdict == .matches)
        #expect(check(Self.zen4, "SkylakeX", fixedFrom: "Prescott").verdict == .fixed(from: "Prescott", to: "SkylakeX"))
        let warn = check(Self.zen4, "Prescott").report
        #expect(warn.count == 2 && warn[1].hasPrefix("warning: OpenBLAS chose its Prescott kernels (SSE)") && warn[1].contains("export OPENBLAS_CORETYPE=SkylakeX"))
        let note = check(Self.zen4, "Prescott", user: "Prescott").report
        #expect(note[0].contains("Prescott kernels (OPENBLAS_CORETYPE=Prescott)"))
        #expect(note[1].contains("because OPENBLAS_CORETYPE=Prescott is set") && note[1].contains("export OPENBLAS_CORETYPE=SkylakeX"))
        #expect(check(Self.haswell, "Haswell").report.count == 1)
    }

    @Test("this machine: /proc/cpuinfo parses, the library names its kernels, and its sgemm is right")
    func thisMachine() {
        let c = BLASKernelCheck.current()
        #expect(!c.coreName.isEmpty && c.configuration.hasPrefix("OpenBLAS"))
        #if os(Linux) && arch(x86_64)
        #expect(!c.cpu.flags.isEmpty && c.cpu.flags.contains("sse2"))
        #endif
        #expect(BLASKernelCheck.sgemmAgrees())
    }
}
