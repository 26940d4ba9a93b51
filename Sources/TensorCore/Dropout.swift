/// Inverted dropout: each element is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`, so the expectation is unchanged; at `p = 0` (or in evaluation)
/// it is the identity.
///
/// The keep-mask is drawn in parallel but never depends on the thread count: a call takes
/// one 64-bit draw from the caller's `SeededRNG` as a key and cuts the elements into fixed
/// blocks of `blockSize`; block `b` runs four xoshiro256** streams `(key, 4b + lane)` side by
/// side (`DropoutStreams`, one SIMD4 step per 8 elements). Element `e` of a block uses 32-bit
/// word `e mod 8` of draw `e / 8` (words in little-endian order: low half of stream 0 first)
/// and is kept when that word is ≥ `p · 2³²`. Float and Double get the same mask.
public enum Dropout {
    /// Elements per independently seeded block (a fixed constant: part of the mask's definition).
    public static let blockSize = 16_384

    /// `y[i] = x[i] · keep[i] / (1 − p)`; writes the mask (1 keep, 0 drop) to `keep`.
    /// `y` may alias `x`. Requires `0 ≤ p < 1`. Advances `rng` by one draw when `p > 0`.
    @inlinable
    public static func forward<T: TensorScalar>(
        x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, keep: UnsafeMutablePointer<UInt8>,
        count: Int, p: Double, rng: inout SeededRNG
    ) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        if p == 0 {
            for i in 0..<count { keep[i] = 1; y[i] = x[i] }
            return
        }
        let threshold = UInt32(min((p * 4_294_967_296).rounded(), 4_294_967_295))
        let key = rng.next()
        if T.self == Float.self {
            let xf = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
            let yf = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            let scale = Float(1 / (1 - p))
            Parallel.forBlocks(count, blockSize: blockSize) { b, _ in
                forwardBlockFloat(x: xf, y: yf, keep: keep, block: b, count: count, threshold: threshold,
                                  scale: scale, key: key)
            }
            return
        }
        let scale = T(1 / (1 - p))
        Parallel.forBlocks(count, blockSize: blockSize) { b, range in
            var g = DropoutStreams(key: key, block: b)
            var i = range.lowerBound
            while i < range.upperBound {
                let words = g.next()
                for w in 0..<min(8, range.upperBound - i) {
                    let k: UInt8 = words[w] >= threshold ? 1 : 0
                    keep[i + w] = k
                    y[i + w] = k == 1 ? x[i + w] * scale : 0
                }
                i += 8
            }
        }
    }

    /// One block of the Float forward: 8 elements per step as SIMD8 (tail handled lane by lane).
    @usableFromInline
    static func forwardBlockFloat(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, keep: UnsafeMutablePointer<UInt8>,
                                  block b: Int, count: Int, threshold: UInt32, scale: Float, key: UInt64) {
        var g = DropoutStreams(key: key, block: b)
        let lo = b * blockSize, hi = min(count, lo + blockSize)
        let t8 = SIMD8<UInt32>(repeating: threshold), zero = SIMD8<Float>(), one = SIMD8<UInt32>(repeating: 1)
        var i = lo
        while i + 8 <= hi {
            let kept = g.next() .>= t8
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: zero.replacing(with: xv * scale, where: kept), as: SIMD8<Float>.self)
            let k = SIMD8<UInt32>().replacing(with: one, where: kept)
            UnsafeMutableRawPointer(keep + i).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: k), as: SIMD8<UInt8>.self)
            i += 8
        }
        if i < hi {
            let words = g.next()
            for w in 0..<(hi - i) {
                let k: UInt8 = words[w] >= threshold ? 1 : 0
                keep[i + w] = k
                y[i + w] = k == 1 ? x[i + w] * scale : 0
            }
        }
    }

    /// Draws only the keep-mask `forward` would (same definition, same single draw from `rng`;
    /// no draw when `p = 0`, where every element is kept), for fused kernels that apply the mask
    /// themselves, e.g. `Attention.forward` scaling each head's probabilities while they are in cache.
    public static func drawMask(keep: UnsafeMutablePointer<UInt8>, count: Int, p: Double, rng: inout SeededRNG) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        if p == 0 {
            keep.update(repeating: 1, count: count)
            return
        }
        let threshold = UInt32(min((p * 4_294_967_296).rounded(), 4_294_967_295))
        let key = rng.next()
        Parallel.forBlocks(count, blockSize: blockSize) { b, range in
            var g = DropoutStreams(key: key, block: b)
            let t8 = SIMD8<UInt32>(repeating: threshold), one = SIMD8<UInt32>(repeating: 1)
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let k = SIMD8<UInt32>().replacing(with: one, where: g.next() .>= t8)
                UnsafeMutableRawPointer(keep + i).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: k), as: SIMD8<UInt8>.self)
                i += 8
            }
            if i < range.upperBound {
                let words = g.next()
                for w in 0..<(range.upperBound - i) { keep[i + w] = words[w] >= threshold ? 1 : 0 }
            }
        }
    }

    /// `dx[i] += dy[i] · keep[i] / (1 − p)` (`accumulate: false`: `dx[i] = …`).
    @inlinable
    public static func backward<T: TensorScalar>(
        dy: UnsafePointer<T>, keep: UnsafePointer<UInt8>, dx: UnsafeMutablePointer<T>,
        count: Int, p: Double, accumulate: Bool = true
    ) {
        let scale = T(1 / (1 - p))
        Parallel.forRanges(count, grain: 65_536) { range in
            if accumulate {
                for i in range { dx[i] += dy[i] * (scale * T(keep[i])) }
            } else {
                for i in range { dx[i] = dy[i] * (scale * T(keep[i])) }
            }
        }
    }
}

/// Four xoshiro256** generators run in SIMD lanes (the dropout mask's random source): lane `l`
/// of block `b` is `SeededRNG(seed: key, stream: 4b + l)`, and each step returns the four
/// 64-bit outputs as eight 32-bit words. Multiplications by 5 and 9 are shifts and adds, so
/// the step vectorises without 64-bit vector multiplies.
@usableFromInline
struct DropoutStreams {
    @usableFromInline var s0, s1, s2, s3: SIMD4<UInt64>

    @inlinable
    init(key: UInt64, block: Int) {
        s0 = .zero; s1 = .zero; s2 = .zero; s3 = .zero
        for lane in 0..<4 {
            let g = SeededRNG(seed: key, stream: UInt64(4 * block + lane))
            s0[lane] = g.state.0; s1[lane] = g.state.1; s2[lane] = g.state.2; s3[lane] = g.state.3
        }
    }

    @inlinable @inline(__always)
    mutating func next() -> SIMD8<UInt32> {
        let x5 = (s1 &<< 2) &+ s1
        let rot = (x5 &<< 7) | (x5 &>> 57)
        let result = (rot &<< 3) &+ rot
        let t = s1 &<< 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 &<< 45) | (s3 &>> 19)
        return unsafeBitCast(result, to: SIMD8<UInt32>.self)
    }
}
