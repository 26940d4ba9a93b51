// swift-tools-version:6.0
//
// dcft: DCFT adapters for transformer encoders, data-parallel over MPI.
// Module layout follows docs/DESIGN.md §3. System libraries come from Debian
// (libopenmpi-dev, libopenblas-dev, libhdf5-dev) and are found with pkg-config;
// see launch/install-deps.sh and README.md ("Pointing the build at your own MPI/HDF5").
import PackageDescription
import Foundation

/// Vector width of the Swift kernels. Swift's default x86-64 target stops at SSE2 (4 floats per
/// instruction); on a CPU with AVX2 and FMA (every x86 server since 2013) the kernels are built
/// for `haswell` (8 floats). Like -march=native, this is decided by the building machine:
/// set DCFT_TARGET_CPU=generic to build a binary for older CPUs, or to another LLVM CPU name.
let targetCPU: [String] = {
    let env = ProcessInfo.processInfo.environment["DCFT_TARGET_CPU"]
    if let env, !env.isEmpty { return env == "generic" ? [] : ["-target-cpu", env] }
    #if arch(x86_64) && os(Linux)
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
        let set = Set(flags.split(separator: " ").map(String.init))
        if set.isSuperset(of: ["avx2", "fma", "bmi2"]) { return ["-target-cpu", "haswell"] }
    }
    #endif
    return []
}()

/// DCFT_WARNINGS_AS_ERRORS=1 (set by launch/test.sh, so CI) makes any warning in the project's
/// own targets an error; dependencies are unaffected. The project builds with zero warnings.
let strict: [SwiftSetting] = ProcessInfo.processInfo.environment["DCFT_WARNINGS_AS_ERRORS"] == "1"
    ? [.unsafeFlags(["-warnings-as-errors"])] : []

/// Kernels and the trainer are compiled with -Ounchecked in release builds:
/// every index is validated at the API boundary, not in inner loops.
let fast: [SwiftSetting] = strict + [.unsafeFlags(["-Ounchecked"] + targetCPU, .when(configuration: .release))]
/// The numeric modules are optimised in debug builds too, so the test suite (a debug build)
/// runs real models at a usable speed; `@testable import` still works.
let numeric: [SwiftSetting] = fast + [.unsafeFlags(["-O"] + targetCPU, .when(configuration: .debug))]

let package = Package(
    name: "dcft",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dcft", targets: ["dcft"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Thin C bindings (module maps + static inline accessors for macros).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),

        // Storage, shapes, BLAS-backed matmul and every op's forward + backward.
        .target(name: "TensorCore",
                dependencies: ["COpenBLAS", .product(name: "Numerics", package: "swift-numerics")],
                swiftSettings: numeric),
        // MPI communicator (docs/DESIGN.md calls this module "Distributed"; that name is taken
        // by Swift's own distributed-actors module, so it is `Collectives` here).
        .target(name: "Collectives", dependencies: ["CMPI"], swiftSettings: fast),
        // Swift layer over HDF5: files, groups, typed datasets, hyperslabs, attributes, errors.
        .target(name: "HDF5Kit", dependencies: ["CHDF5"], swiftSettings: fast),

        // Encoders (BERT, RoBERTa), DCFT and LoRA adapters, heads, safetensors, merge/export.
        .target(name: "Model", dependencies: ["TensorCore"], swiftSettings: numeric),
        // Tokenizers, GLUE/JSONL readers, the tokenized HDF5 dataset, sampling and batching.
        .target(name: "DataPipeline", dependencies: ["HDF5Kit", "TensorCore", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: numeric),

        // Config, optimizer, schedules, trainer loop, metrics, checkpoints, logs.
        .target(name: "Train", dependencies: ["TensorCore", "Collectives", "HDF5Kit", "DataPipeline", "Model", "Yams", "CPreemption"],
                swiftSettings: fast),
        // The preemption signal handlers (SIGTERM, SIGINT, SIGUSR1/2 → a flag read once per step).
        .target(name: "CPreemption"),

        // The CPU check a binary built for x86-64-v3 runs first (plain C, baseline x86-64).
        .target(name: "CCPUCheck"),
        .executableTarget(
            name: "dcft",
            dependencies: ["TensorCore", "Collectives", "HDF5Kit", "DataPipeline", "Model", "Train", "CCPUCheck",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast + (targetCPU == ["-target-cpu", "haswell"] ? [.define("DCFT_BASELINE_X86_64_V3")] : [])),
        // The seeded mutation fuzzer of every reader of untrusted input (bench/fuzz.sh; a short run in the tests).
        .executableTarget(name: "dcft-fuzz", dependencies: ["DataPipeline", "HDF5Kit", "Model", "TensorCore", "Train"],
                          swiftSettings: strict),
        // Small MPI program the Collectives tests launch under `mpirun -np 2/3`.
        .executableTarget(name: "mpi-selftest", dependencies: ["Collectives"], swiftSettings: strict),

        // Process helpers shared by the tests that launch dcft, mpirun and python3.
        .target(name: "TestSupport", dependencies: ["Model"], path: "Sources/TestSupport", swiftSettings: strict),
        // `dcft train` plus a test-only adapter (TestSupport/ScalarGate.swift): the adapter-seam test.
        .executableTarget(name: "toy-adapter-train", dependencies: ["Train", "Collectives", "Model", "TestSupport"],
                          swiftSettings: strict),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], swiftSettings: strict),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives", "TestSupport", "mpi-selftest"], swiftSettings: strict),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit"], swiftSettings: strict),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Train", "TensorCore", "DataPipeline"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: ["Model", "DataPipeline", "TensorCore", "TestSupport", "dcft"], swiftSettings: strict),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Model", "DataPipeline", "TensorCore", "TestSupport", "dcft", "toy-adapter-train", "CCPUCheck", "dcft-fuzz"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "DataPipelineTests", dependencies: ["DataPipeline", "HDF5Kit"],
                    exclude: ["Fixtures"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v5]
)
