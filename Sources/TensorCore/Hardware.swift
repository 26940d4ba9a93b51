import Foundation
import COpenBLAS

/// Vector instruction levels, ordered: what a CPU supports and what a BLAS kernel set uses.
public enum ISALevel: Int, Comparable, Sendable, CustomStringConvertible {
    case sse = 0, avx, avx2, avx512

    public static func < (a: ISALevel, b: ISALevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: return "SSE"
        case .avx: return "AVX"
        case .avx2: return "AVX2+FMA"
        case .avx512: return "AVX-512"
        }
    }

    /// The `OPENBLAS_CORETYPE` whose kernels use this level on x86-64 (OpenBLAS 0.3.21 names).
    public var openBLASCoreType: String? {
        switch self {
        case .sse: return nil
        case .avx: return "Sandybridge"
        case .avx2: return "Haswell"
        case .avx512: return "SkylakeX"
        }
    }

    /// The level of an OpenBLAS x86-64 kernel set by its core name (`openblas_get_corename`),
    /// nil for names this table does not know (other architectures).
    public static func ofOpenBLASCore(_ name: String) -> ISALevel? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen", "excavator": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return .avx
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood",
             "banias", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano", "generic": return .sse
        default: return nil
        }
    }
}

/// The x86-64 features that decide which kernels can run: from `/proc/cpuinfo` on Linux.
public struct CPUFeatures: Sendable, Equatable {
    public var modelName: String
    public var flags: Set<String>

    public init(modelName: String, flags: Set<String>) { self.modelName = modelName; self.flags = flags }

    /// This machine's CPU (empty flags where `/proc/cpuinfo` is unreadable).
    public static func current() -> CPUFeatures {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var model = "unknown CPU", flags = Set<String>()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", model == "unknown CPU" { model = parts[1] }
            if parts[0] == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        }
        return CPUFeatures(modelName: model, flags: flags)
    }

    public var avx2: Bool { flags.contains("avx2") && flags.contains("fma") }
    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels need.
    public var avx512: Bool { ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) }
    public var avx512bf16: Bool { flags.contains("avx512_bf16") }
    public var amx: Bool { flags.contains("amx_tile") && flags.contains("amx_bf16") }

    public var level: ISALevel { avx512 ? .avx512 : avx2 ? .avx2 : flags.contains("avx") ? .avx : .sse }

    /// "AVX2+FMA, AVX-512, AVX512-BF16, no AMX".
    public var summary: String {
        var parts = [avx2 ? "AVX2+FMA" : "no AVX2", avx512 ? "AVX-512" : "no AVX-512"]
        if avx512 { parts.append(avx512bf16 ? "AVX512-BF16" : "no AVX512-BF16") }
        parts.append(amx ? "AMX" : "no AMX")
        return parts.joined(separator: ", ")
    }
}

/// Whether the BLAS library runs kernels as wide as the CPU allows, and what to do if not.
///
/// OpenBLAS picks its kernels at load time from the CPU (`DYNAMIC_ARCH`), unless
/// `OPENBLAS_CORETYPE` names them. An old OpenBLAS that does not recognise a new CPU falls back
/// to generic SSE kernels ("Prescott"), several times slower, silently. dcft reports the choice at
/// start and, when the user did not set `OPENBLAS_CORETYPE`, restarts itself with the right one
/// (`applyAutomaticFix`); a user's own setting is never overridden, only reported with the fix.
public struct BLASKernelCheck: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// The kernels use what the CPU supports (or the table cannot tell).
        case matches
        /// Weaker kernels because the user set `OPENBLAS_CORETYPE`: kept, with a note.
        case userChoice(recommended: String)
        /// Weaker kernels chosen by the library: dcft can restart with `recommended`.
        case weak(recommended: String)
        /// dcft restarted itself with `OPENBLAS_CORETYPE=to` (the library had chosen `from`).
        case fixed(from: String, to: String)
    }

    public var cpu: CPUFeatures
    public var coreName: String
    public var configuration: String
    /// `OPENBLAS_CORETYPE` as the user set it (nil: unset, or set by dcft's own restart).
    public var userCoreType: String?
    /// The core name the library had chosen before dcft's restart, if it restarted.
    public var fixedFrom: String?

    public init(cpu: CPUFeatures, coreName: String, configuration: String, userCoreType: String?, fixedFrom: String?) {
        self.cpu = cpu; self.coreName = coreName; self.configuration = configuration
        self.userCoreType = userCoreType; self.fixedFrom = fixedFrom
    }

    /// Environment variable dcft sets when it restarts itself with a better `OPENBLAS_CORETYPE`
    /// (its value: the core name OpenBLAS had chosen).
    public static let restartMarker = "DCFT_BLAS_CORETYPE_FIXED_FROM"
    /// Set to 1 to keep whatever kernels OpenBLAS chooses (no automatic restart).
    public static let disableVariable = "DCFT_NO_BLAS_FIX"

    /// The check for this process.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> BLASKernelCheck {
        let fixedFrom = environment[restartMarker]
        return BLASKernelCheck(cpu: .current(), coreName: BLAS.coreName, configuration: BLAS.configuration,
                               userCoreType: fixedFrom == nil ? environment["OPENBLAS_CORETYPE"] : nil, fixedFrom: fixedFrom)
    }

    public var verdict: Verdict {
        if let from = fixedFrom { return .fixed(from: from, to: coreName) }
        guard let used = ISALevel.ofOpenBLASCore(coreName), used < cpu.level, let best = cpu.level.openBLASCoreType else { return .matches }
        return userCoreType != nil ? .userChoice(recommended: best) : .weak(recommended: best)
    }

    /// The lines dcft prints at start: the CPU, the kernels, and a warning or note if they differ.
    public var report: [String] {
        let version = configuration.split(separator: " ").prefix(2).joined(separator: " ")
        var lines = ["cpu: \(cpu.modelName) (\(cpu.summary)); BLAS: \(version), \(coreName) kernels"
                     + (userCoreType.map { " (OPENBLAS_CORETYPE=\($0))" } ?? "")]
        let used = ISALevel.ofOpenBLASCore(coreName).map { " (\($0))" } ?? ""
        switch verdict {
        case .matches: break
        case .userChoice(let best):
            lines.append("note: OpenBLAS runs its \(coreName) kernels\(used) because OPENBLAS_CORETYPE=\(userCoreType ?? "") is set; this CPU supports \(cpu.level), for which OpenBLAS has \(best) kernels\((ISALevel.ofOpenBLASCore(coreName) ?? .sse) == .sse ? ", several times faster" : ", usually faster")). dcft keeps your setting; to use them: export OPENBLAS_CORETYPE=\(best) (or unset OPENBLAS_CORETYPE to let OpenBLAS choose)")
        case .weak(let best):
            lines.append("warning: OpenBLAS chose its \(coreName) kernels\(used) but this CPU supports \(cpu.level); export OPENBLAS_CORETYPE=\(best) before starting dcft (it restarts itself with it unless \(Self.disableVariable)=1)")
        case .fixed(let from, let to):
            lines.append("note: OpenBLAS had chosen its \(from) kernels for this CPU (\(cpu.level)); dcft restarted itself with OPENBLAS_CORETYPE=\(to). Set OPENBLAS_CORETYPE yourself to choose otherwise.")
        }
        if let failed = ProcessInfo.processInfo.environment[Self.revertedVariable] {
            lines.append("warning: the \(failed) kernels computed wrong sgemm results on this CPU, so dcft went back to OpenBLAS's own choice (\(coreName))")
        }
        return lines
    }

    /// Restarts the process (`execv` of `/proc/self/exe` with the same arguments) with
    /// `OPENBLAS_CORETYPE` set to the recommended kernels when the verdict is `.weak` and
    /// `DCFT_NO_BLAS_FIX` is not set. Must run before MPI is initialised; under mpirun every rank
    /// decides the same way. Returns only when no restart was needed (or it failed).
    ///
    /// After such a restart the new kernels must pass `sgemmAgrees`; if they do not, the process
    /// restarts once more with the library's own choice and `DCFT_NO_BLAS_FIX=1`, and
    /// `revertedVariable` names the kernels that failed (reported by `report`).
    public static func applyAutomaticFix() {
        let env = ProcessInfo.processInfo.environment
        func restart() {
            let args = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", args)
        }
        if env[restartMarker] != nil {
            if sgemmAgrees() { return }
            setenv(revertedVariable, BLAS.coreName, 1); setenv(disableVariable, "1", 1)
            unsetenv("OPENBLAS_CORETYPE"); unsetenv(restartMarker)
            restart()
            return
        }
        guard env[disableVariable] != "1", case .weak(let best) = current(environment: env).verdict else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        setenv(restartMarker, BLAS.coreName, 1)
        restart()
        // execv returned: it failed. Carry on with the library's own choice.
        unsetenv("OPENBLAS_CORETYPE"); unsetenv(restartMarker)
    }

    /// Set by a restart that went back to the library's choice: the kernels that failed `sgemmAgrees`.
    public static let revertedVariable = "DCFT_BLAS_CORETYPE_REVERTED"

    /// Whether the BLAS sgemm agrees with a plain Double product on a few odd shapes and every
    /// transpose (a kernel set that computes wrong results on this CPU is refused, not trusted).
    public static func sgemmAgrees() -> Bool {
        var rng = SeededRNG(seed: 12345)
        for (m, n, k) in [(67, 45, 33), (128, 96, 64), (5, 300, 17)] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = (0..<(m * k)).map { _ in Float(rng.nextNormal()) }, b = (0..<(k * n)).map { _ in Float(rng.nextNormal()) }
                var c = [Float](repeating: 0, count: m * n)
                let lda = ta ? m : k, ldb = tb ? k : n
                Matmul.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0, mag = 0.0
                        for p in 0..<k {
                            let x = Double(ta ? a[p * lda + i] : a[i * lda + p]), y = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                            s += x * y; mag += abs(x * y)
                        }
                        if abs(Double(c[i * n + j]) - s) > 1e-5 * mag + 1e-6 { return false }
                    }
                }
            }
        }
        return true
    }
}
