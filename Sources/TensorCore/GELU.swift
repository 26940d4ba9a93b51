import RealModule

/// GELU in the exact erf form BERT uses (`hidden_act: "gelu"`):
/// `gelu(x) = x · Φ(x) = ½ · x · (1 + erf(x / √2))`, computed as `½ · x · erfc(−x / √2)`,
/// which avoids the cancellation of `1 + erf` for negative `x` (exact to Float precision).
public enum GELU {
    /// `y[i] = gelu(x[i])` for `count` elements. `y` may alias `x`.
    @inlinable
    public static func forward<T: TensorScalar>(x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            return forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: count)
        }
        let invSqrt2 = 1 / T.sqrt(2)
        Parallel.forRanges(count, grain: 32_768) { range in
            for i in range {
                let v = x[i]
                y[i] = v * T.erfc(-v * invSqrt2) / 2
            }
        }
    }

    /// `dx[i] += dy[i] · gelu'(x[i])`, with `gelu'(x) = Φ(x) + x · φ(x)`
    /// and `φ(x) = exp(−x²/2) / √(2π)`. `x` is the forward *input*.
    /// `accumulate: false` overwrites `dx` (no need to zero it first).
    @inlinable
    public static func backward<T: TensorScalar>(
        x: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, count: Int, accumulate: Bool = true
    ) {
        if T.self == Float.self {
            return backwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                 dy: UnsafeRawPointer(dy).assumingMemoryBound(to: Float.self),
                                 dx: UnsafeMutableRawPointer(dx).assumingMemoryBound(to: Float.self), count: count,
                                 accumulate: accumulate)
        }
        if !accumulate { dx.update(repeating: 0, count: count) }
        let invSqrt2 = 1 / T.sqrt(2)
        let invSqrt2Pi = 1 / T.sqrt(2 * T.pi)
        Parallel.forRanges(count, grain: 32_768) { range in
            for i in range {
                let v = x[i]
                let cdf = T.erfc(-v * invSqrt2) / 2
                let pdf = T.exp(-v * v / 2) * invSqrt2Pi
                dx[i] += dy[i] * (cdf + v * pdf)
            }
        }
    }

    /// Training forward: `y[i] = gelu(x[i])` and `derivative[i] = gelu'(x[i])` in one pass, so
    /// the backward is a multiply (`backward(derivative:…)`) instead of re-evaluating erf and exp.
    /// Both `y` and `derivative` may alias `x` (each element is read before it is written);
    /// `derivative` aliasing `x` keeps the memory of the plain forward.
    @inlinable
    public static func forward<T: TensorScalar>(x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                                derivative: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            return forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                                derivative: UnsafeMutableRawPointer(derivative).assumingMemoryBound(to: Float.self),
                                count: count)
        }
        let invSqrt2 = 1 / T.sqrt(2), invSqrt2Pi = 1 / T.sqrt(2 * T.pi)
        Parallel.forRanges(count, grain: 32_768) { range in
            for i in range {
                let v = x[i]
                let cdf = T.erfc(-v * invSqrt2) / 2
                y[i] = v * cdf
                let pdf = T.exp(-v * v / 2) * invSqrt2Pi
                derivative[i] = cdf + v * pdf
            }
        }
    }

    /// `dx[i] += dy[i] · derivative[i]` with the derivative saved by the training forward
    /// (`accumulate: false` overwrites). Equal to `backward(x:…)` on the same input.
    @inlinable
    public static func backward<T: TensorScalar>(
        derivative: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, count: Int, accumulate: Bool = true
    ) {
        Parallel.forRanges(count, grain: 65_536) { range in
            if accumulate {
                for i in range { dx[i] += dy[i] * derivative[i] }
            } else {
                for i in range { dx[i] = dy[i] * derivative[i] }
            }
        }
    }

    /// `gelu'(x) = Φ(x) + x·φ(x)` for Float, as both Float paths compute it.
    @inlinable @inline(__always)
    static func derivativeFloat(_ v: Float, cdf: Float) -> Float {
        cdf + v * (FastMath.expNonPositive(-0.5 * v * v) * 0.39894228040143268)
    }

    /// Float training forward (value and derivative). The input is copied chunk by chunk to a
    /// stack buffer first: with `derivative` aliasing `x` the compiler's runtime overlap check
    /// would otherwise send the whole loop down its scalar path (measured: 3× slower).
    @usableFromInline
    static func forwardFloat(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                             derivative: UnsafeMutablePointer<Float>, count: Int) {
        let chunk = 512
        Parallel.forRanges(count, grain: 32_768) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk) { buf in
                let t = buf.baseAddress!                     // [chunk]: the input, copied
                var i = range.lowerBound
                while i < range.upperBound {
                    let n = min(chunk, range.upperBound - i)
                    t.update(from: x + i, count: n)
                    let yi = y + i, di = derivative + i
                    for j in 0..<n {
                        let v = t[j]
                        let cdf = 0.5 * (1 + FastMath.erf(v * 0.70710678118654752))
                        yi[j] = v * cdf
                        di[j] = derivativeFloat(v, cdf: cdf)
                    }
                    i += n
                }
            }
        }
    }

    /// Float forward with the vectorisable `FastMath.erf` (absolute error < 2e-7·|x|).
    @usableFromInline
    static func forwardFloat(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, grain: 32_768) { range in
            for i in range {
                let v = x[i]
                y[i] = 0.5 * v * (1 + FastMath.erf(v * 0.70710678118654752))
            }
        }
    }

    /// Float backward: `Φ(x) + x·φ(x)` with `FastMath.erf` and `FastMath.expNonPositive`.
    @usableFromInline
    static func backwardFloat(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
                              accumulate: Bool) {
        @inline(__always) func derivative(_ v: Float) -> Float {
            derivativeFloat(v, cdf: 0.5 * (1 + FastMath.erf(v * 0.70710678118654752)))
        }
        Parallel.forRanges(count, grain: 32_768) { range in
            if accumulate {
                for i in range { dx[i] += dy[i] * derivative(x[i]) }
            } else {
                for i in range { dx[i] = dy[i] * derivative(x[i]) }
            }
        }
    }
}
