/// Matrix products through BLAS (cblas_sgemm / cblas_dgemm), row-major.
///
/// `op(X)` is `X` or `Xᵀ` as the transpose flags say. Leading dimensions are the
/// row strides of the matrices *as stored*.
public enum Matmul {
    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
    ///
    /// Use `beta: 1` to accumulate into `C` (the convention of every backward here).
    /// A zero-sized product (`m`, `n` or `k` is 0) scales `C` by `beta` only.
    @inlinable
    public static func gemm<T: TensorScalar>(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: T = 1, a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        // With single-threaded BLAS (how dcft runs: `BLAS.threads = 1`), large products are
        // split by rows of C over `Parallel.threads` threads. Each row is computed by the same
        // kernel over the same k, so the result does not depend on the split; and no BLAS
        // worker threads sit spinning while the elementwise kernels run.
        let chunks = Parallel.threads
        if chunks > 1 && m >= 2 * chunks && m * n * k >= 1 << 21 && BLAS.threads == 1 {
            let per = (m + chunks - 1) / chunks
            Parallel.forRanges(chunks, grain: 1) { range in
                for t in range {
                    let r0 = t * per, r1 = min(m, r0 + per)
                    if r0 >= r1 { continue }
                    T.blasGemm(transA: transA, transB: transB, m: r1 - r0, n: n, k: k, alpha: alpha,
                               a: transA ? a + r0 : a + r0 * lda, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c + r0 * ldc, ldc: ldc)
                }
            }
            return
        }
        T.blasGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// `outer × inner` independent products; item `(o, i)` of X starts at
    /// `x + o·strideX.outer + i·strideX.inner`, e.g. outer = batch rows and inner = heads,
    /// addressing each head in place inside `[rows × h]` activations (the unfused form of
    /// `Attention`, which the tests compare it with).
    ///
    /// Many small products are spread over `Parallel.threads` threads with one BLAS thread
    /// each (set once for the whole call), which beats threading inside each tiny gemm.
    @inlinable
    public static func gemmBatched2D<T: TensorScalar>(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: T = 1, a: UnsafePointer<T>, lda: Int, strideA: (outer: Int, inner: Int),
        b: UnsafePointer<T>, ldb: Int, strideB: (outer: Int, inner: Int),
        beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int, strideC: (outer: Int, inner: Int),
        outer: Int, inner: Int
    ) {
        let count = outer * inner
        if count == 0 { return }
        let body = { (range: Range<Int>) in
            for idx in range {
                let o = idx / inner, i = idx % inner
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                     a: a + o * strideA.outer + i * strideA.inner, lda: lda,
                     b: b + o * strideB.outer + i * strideB.inner, ldb: ldb,
                     beta: beta, c: c + o * strideC.outer + i * strideC.inner, ldc: ldc)
            }
        }
        if m * n * k < 256 * 256 * 256 {
            BLAS.forItems(count, body)
        } else {
            body(0..<count)
        }
    }
}

extension BLAS {
    /// Runs `body` over contiguous ranges covering `0..<count` items on `Parallel.threads`
    /// threads with one BLAS thread each (restored afterwards), which beats threading inside
    /// each of many small products; inline (BLAS threads untouched) for one item or one thread.
    @inlinable
    public static func forItems(_ count: Int, _ body: (Range<Int>) -> Void) {
        guard count >= 2 && Parallel.threads > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        let saved = threads
        if saved != 1 { threads = 1 }
        Parallel.forRanges(count, grain: 1, body)
        if saved != 1 { threads = saved }
    }
}

/// A fully connected layer in Hugging Face layout: `W` is `[out × in]`.
public enum Linear {
    /// `y[n×out] = x[n×in] · W[out×in]ᵀ + b[out]` (`b` optional). Overwrites `y`, or with
    /// `accumulate: true` adds to it (`y += x·Wᵀ + b`; how an adapter that has already written
    /// `b + ΔW`-term into `y` finishes the layer with no extra pass over `y`).
    @inlinable
    public static func forward<T: TensorScalar>(
        x: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
        y: UnsafeMutablePointer<T>, rows n: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false
    ) {
        // With a bias, y starts as the broadcast bias and the gemm accumulates (beta = 1): one
        // pass over y instead of BLAS's zero-fill for beta = 0 plus a bias pass; same result
        // bit for bit (acc + b either way).
        if let bias {
            if accumulate { BiasAdd.forward(y: y, bias: bias, rows: n, cols: outFeatures) }
            else { BiasAdd.broadcast(y: y, bias: bias, rows: n, cols: outFeatures) }
        }
        Matmul.gemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
                    b: weight, ldb: inFeatures, beta: bias == nil && !accumulate ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// Backward of `forward`, accumulating:
    /// `dx[n×in] += dy[n×out]·W`, `dW[out×in] += dyᵀ·x`, `db[out] += Σ_rows dy`
    /// (`accumulateDX: false` overwrites `dx` instead, which saves zeroing it first).
    /// Pass `nil` for a gradient that is not needed: a frozen weight costs no `dW` gemm,
    /// so a frozen layer's backward is one gemm, not two.
    @inlinable
    public static func backward<T: TensorScalar>(
        x: UnsafePointer<T>, weight: UnsafePointer<T>, dy: UnsafePointer<T>,
        dx: UnsafeMutablePointer<T>?, dWeight: UnsafeMutablePointer<T>?, dBias: UnsafeMutablePointer<T>?,
        rows n: Int, inFeatures: Int, outFeatures: Int, accumulateDX: Bool = true
    ) {
        if let dx {
            Matmul.gemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures,
                        a: dy, lda: outFeatures, b: weight, ldb: inFeatures, beta: accumulateDX ? 1 : 0, c: dx, ldc: inFeatures)
        }
        if let dWeight {
            Matmul.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n,
                        a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias { BiasAdd.backward(dy: dy, dBias: dBias, rows: n, cols: outFeatures) }
    }
}

/// Adding a bias row to every row of a matrix.
public enum BiasAdd {
    /// `y[r, c] += bias[c]` for a `[rows × cols]` matrix, in place.
    @inlinable
    public static func forward<T: TensorScalar>(y: UnsafeMutablePointer<T>, bias: UnsafePointer<T>, rows: Int, cols: Int) {
        Parallel.forRanges(rows, grain: max(1, 16_384 / max(cols, 1))) { range in
            for r in range {
                let row = y + r * cols
                for c in 0..<cols { row[c] += bias[c] }
            }
        }
    }

    /// `y[r, c] = bias[c]` for a `[rows × cols]` matrix (overwrites).
    @inlinable
    public static func broadcast<T: TensorScalar>(y: UnsafeMutablePointer<T>, bias: UnsafePointer<T>, rows: Int, cols: Int) {
        Parallel.forRanges(rows, grain: max(1, 16_384 / max(cols, 1))) { range in
            for r in range { (y + r * cols).update(from: bias, count: cols) }
        }
    }

    /// `dBias[c] += Σ_r dy[r, c]`, summed over rows in order (deterministic).
    @inlinable
    public static func backward<T: TensorScalar>(dy: UnsafePointer<T>, dBias: UnsafeMutablePointer<T>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = dy + r * cols
            for c in 0..<cols { dBias[c] += row[c] }
        }
    }
}
