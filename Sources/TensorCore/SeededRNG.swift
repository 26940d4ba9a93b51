/// xoshiro256** seeded through SplitMix64: fast, 256-bit state, reproducible on
/// every platform. Its state is four `UInt64` words that checkpoints store and
/// restore, so a resumed run draws the same numbers as an uninterrupted one.
public struct SeededRNG: RandomNumberGenerator, Sendable, Equatable {
    public static func == (a: SeededRNG, b: SeededRNG) -> Bool { a.stateWords == b.stateWords }

    /// The full generator state (never all zero).
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed`, optionally a distinct stream per `stream` index
    /// (e.g. the MPI rank): streams with different indices are decorrelated.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func next() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// Restores a generator from a saved `stateWords` (4 words).
    public init(stateWords: [UInt64]) {
        precondition(stateWords.count == 4, "SeededRNG state has 4 words, got \(stateWords.count)")
        state = (stateWords[0], stateWords[1], stateWords[2], stateWords[3])
    }

    /// The state as an array of 4 words, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inlinable @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (exactly representable as Float).
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal N(0, 1) by Box–Muller (53-bit uniforms, Double precision).
    public mutating func nextNormal() -> Double {
        let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)  // (0, 1]
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fills `buffer` with N(mean, std²) samples.
    public mutating func fillNormal<T: TensorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, mean: T = 0, std: T) {
        for i in buffer.indices { buffer[i] = mean + std * T(nextNormal()) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
