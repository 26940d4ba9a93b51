/// Branch-free Float approximations the compiler can vectorise (libm's erff/expf are calls
/// per element). Used by the Float GELU; the Double kernels keep the exact libm functions.
public enum FastMath {
    /// erf(x) by the rational approximation Eigen and XLA use for float
    /// (odd degree-13 numerator over even degree-8 denominator on x clamped to [−4, 4]);
    /// absolute error below 2e-7 everywhere. Horner steps are fused multiply-adds
    /// (`addingProduct`: one rounding; Swift never contracts `a·b + c` by itself).
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let x = min(max(x, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = (2.77068142495902e-08 as Float).addingProduct(p, x2)
        p = (-2.10102402082508e-06 as Float).addingProduct(p, x2)
        p = (-5.69250639462346e-05 as Float).addingProduct(p, x2)
        p = (-7.34990630326855e-04 as Float).addingProduct(p, x2)
        p = (-2.95459980854025e-03 as Float).addingProduct(p, x2)
        p = (-1.60960333262415e-02 as Float).addingProduct(p, x2)
        p = p * x
        var q: Float = -1.45660718464996e-05
        q = (-2.13374055278905e-04 as Float).addingProduct(q, x2)
        q = (-1.68282697438203e-03 as Float).addingProduct(q, x2)
        q = (-7.37332916720468e-03 as Float).addingProduct(q, x2)
        q = (-1.42647390514189e-02 as Float).addingProduct(q, x2)
        return p / q
    }

    /// exp(x) for x ≤ 0 (softmax after subtracting the row maximum, and the Gaussian density
    /// in GELU's derivative): range reduction to `2^k · e^f` with |f| ≤ ln2/2 and a degree-7
    /// Taylor polynomial (fused multiply-adds); relative error below 3e-7 for x ≥ −87, and
    /// exactly 0 below −87 — never a subnormal, which would make every later BLAS call that reads it crawl.
    @inlinable @inline(__always)
    public static func expNonPositive(_ x0: Float) -> Float {
        let x = max(x0, -87)
        // Nearest integer to x·log2(e) by the 1.5·2^23 trick (|t| < 2^22), which vectorises;
        // Float.rounded() is a libm call.
        let t = x * 1.44269504088896341
        let k = (t + 12_582_912) - 12_582_912
        let f = (x - k * 0.693145751953125) - k * 1.428606765330187e-06  // Cody–Waite split of ln 2: |f| ≤ ln2/2
        var p: Float = 1.0 / 5040
        p = (1.0 / 720 as Float).addingProduct(p, f)
        p = (1.0 / 120 as Float).addingProduct(p, f)
        p = (1.0 / 24 as Float).addingProduct(p, f)
        p = (1.0 / 6 as Float).addingProduct(p, f)
        p = (0.5 as Float).addingProduct(p, f)
        p = (1 as Float).addingProduct(p, f)
        p = (1 as Float).addingProduct(p, f)
        // 2^k by building the exponent bits (k ≥ −126 here, so the result is normal).
        let r = p * Float(bitPattern: UInt32(bitPattern: Int32(k) + 127) << 23)
        return x0 < -87 ? 0 : r
    }
}

/// Vectorised row reductions for Float (a scalar `s += x[i]` loop cannot be vectorised by the
/// compiler, which may not reassociate). Each uses two 8-lane accumulators over 16-element
/// steps and then a scalar tail, so its summation order depends only on `n`: results are
/// deterministic and independent of threads.
public enum RowReduce {
    /// `Σ p[i]` for `i < n`.
    @inlinable
    public static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            a1 += raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            i &+= 16
        }
        var s = (a0 + a1).sum()
        while i < n { s += p[i]; i &+= 1 }
        return s
    }

    /// `max p[i]` for `i < n` (−∞ when `n = 0`).
    @inlinable
    public static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var a0 = SIMD8<Float>(repeating: -.infinity), a1 = a0
        var i = 0
        while i + 16 <= n {
            let v0 = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            let v1 = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            a0.replace(with: v0, where: v0 .> a0)   // stdlib pointwiseMax is not inlined
            a1.replace(with: v1, where: v1 .> a1)
            i &+= 16
        }
        a0.replace(with: a1, where: a1 .> a0)
        var m = a0.max()
        while i < n { m = Swift.max(m, p[i]); i &+= 1 }
        return m
    }

    /// `Σ a[i]·b[i]` for `i < n`.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            a1 += ra.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            i &+= 16
        }
        var s = (a0 + a1).sum()
        while i < n { s += a[i] * b[i]; i &+= 1 }
        return s
    }
}
