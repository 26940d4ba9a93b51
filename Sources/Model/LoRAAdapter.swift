import TensorCore

/// Hyperparameters of LoRA adapters (the baseline), as PEFT defines them.
public struct LoRAOptions: Sendable, Equatable, Codable {
    public var rank: Int = 8
    public var alpha: Float = 16
    /// Dropout on the adapter's input (PEFT's `lora_dropout`).
    public var dropout: Double = 0
    public init(rank: Int = 8, alpha: Float = 16, dropout: Double = 0) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout
    }
    /// PEFT's `scaling = lora_alpha / r`.
    public var scale: Float { alpha / Float(rank) }
}

/// One LoRA adapter on a linear layer `W0: [out × in]`:
/// `y += scale · dropout(x)·Aᵀ·Bᵀ`, `A: [r × in]`, `B: [out × r]` (PEFT's `lora_A`, `lora_B`).
/// Init as PEFT: A kaiming-uniform (`a = √5`, i.e. U(−1/√in, 1/√in)), B zero.
public struct LoRAAdapter: Sendable {
    public let a: ParamRef, b: ParamRef
    public let inFeatures: Int, outFeatures: Int, rank: Int
    public let scale: Float
    public let dropout: Double

    public init(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int, options: LoRAOptions) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; rank = options.rank
        scale = options.scale; dropout = options.dropout
        a = store.register(prefix + ".lora_A.weight", shape: [options.rank, inFeatures], trainable: true)
        b = store.register(prefix + ".lora_B.weight", shape: [outFeatures, options.rank], trainable: true)
    }

    public var parameterCount: Int { rank * (inFeatures + outFeatures) }

    /// Adds the adapter term to `y [rows × out]`. `t [rows × r]` is saved for backward. With
    /// dropout, `xd [rows × in]` receives the dropped input and `keep` its mask (both saved);
    /// without, pass `xd = nil` and `x` itself is used. `scratch` (`r · out` floats) lets ranks
    /// ≤ 8 without dropout take the row kernel (`LoRAAdapter+RowKernel.swift`); nil uses BLAS.
    /// `bias` (row kernel only) overwrites `y` with `bias + term` instead of adding.
    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                        t: UnsafeMutablePointer<Float>, xd: UnsafeMutablePointer<Float>?, keep: UnsafeMutablePointer<UInt8>?,
                        scratch: UnsafeMutablePointer<Float>? = nil, rows: Int, training: Bool, rng: inout SeededRNG,
                        bias: UnsafePointer<Float>? = nil) {
        precondition(bias == nil || (usesRowKernel(training: training) && scratch != nil),
                     "only the row kernel writes bias + term")
        if usesRowKernel(training: training), let scratch {
            return rowForward(A: store.values(a), B: store.values(b), x: x, y: y, t: t, bt: scratch, rows: rows, bias: bias)
        }
        var input = x
        if training && dropout > 0, let xd, let keep {
            Dropout.forward(x: x, y: xd, keep: keep, count: rows * inFeatures, p: dropout, rng: &rng)
            input = UnsafePointer(xd)
        }
        Matmul.gemm(transB: true, m: rows, n: rank, k: inFeatures, a: input, lda: inFeatures,
                    b: store.values(a), ldb: inFeatures, beta: 0, c: t, ldc: rank)
        Matmul.gemm(transB: true, m: rows, n: outFeatures, k: rank, alpha: scale, a: t, lda: rank,
                    b: store.values(b), ldb: rank, beta: 1, c: y, ldc: outFeatures)
    }

    /// Backward: `dt = scale·dy·B`, `dB += scale·dyᵀ·t`, `dA += dtᵀ·x̃`, `dx += mask(dt·A)`.
    /// `work` needs `workCount(rows:training:)` floats.
    public func backward(store: ParameterStore, x: UnsafePointer<Float>, t: UnsafePointer<Float>,
                         xd: UnsafePointer<Float>?, keep: UnsafePointer<UInt8>?, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, work: UnsafeMutablePointer<Float>,
                         overwriteDX: Bool = false) {
        guard let dA = store.gradient(a), let dB = store.gradient(b) else {
            if overwriteDX, let dx { dx.update(repeating: 0, count: rows * inFeatures) }
            return
        }
        precondition(!overwriteDX || usesRowKernel(training: training), "only the row kernel overwrites dx")
        if usesRowKernel(training: training) {
            return rowBackward(A: store.values(a), B: store.values(b), dA: dA, dB: dB, x: x, t: t, dy: dy, dx: dx,
                               overwriteDX: overwriteDX, rows: rows, work: work)
        }
        let dropped = training && dropout > 0 && xd != nil
        let input = dropped ? xd! : x
        let dt = work
        Matmul.gemm(m: rows, n: rank, k: outFeatures, alpha: scale, a: dy, lda: outFeatures,
                    b: store.values(b), ldb: rank, beta: 0, c: dt, ldc: rank)
        Matmul.gemm(transA: true, m: outFeatures, n: rank, k: rows, alpha: scale, a: dy, lda: outFeatures,
                    b: t, ldb: rank, beta: 1, c: dB, ldc: rank)
        Matmul.gemm(transA: true, m: rank, n: inFeatures, k: rows, a: dt, lda: rank,
                    b: input, ldb: inFeatures, beta: 1, c: dA, ldc: inFeatures)
        guard let dx else { return }
        if dropped, let keep {
            let dxd = work + rows * rank
            Matmul.gemm(m: rows, n: inFeatures, k: rank, a: dt, lda: rank, b: store.values(a), ldb: inFeatures,
                        beta: 0, c: dxd, ldc: inFeatures)
            Dropout.backward(dy: dxd, keep: keep, dx: dx, count: rows * inFeatures, p: dropout)
        } else {
            Matmul.gemm(m: rows, n: inFeatures, k: rank, a: dt, lda: rank, b: store.values(a), ldb: inFeatures,
                        beta: 1, c: dx, ldc: inFeatures)
        }
    }

    /// Adds `scale · B·A` to `W [out × in]` (merge).
    public func merge(store: ParameterStore, into w: UnsafeMutablePointer<Float>) {
        Matmul.gemm(m: outFeatures, n: inFeatures, k: rank, alpha: scale, a: store.values(b), lda: rank,
                    b: store.values(a), ldb: inFeatures, beta: 1, c: w, ldc: inFeatures)
    }

    /// PEFT's init: A ~ U(−1/√in, 1/√in), B = 0.
    public func initialize(store: ParameterStore, rng: inout SeededRNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        let A = store.values(a)
        for i in 0..<a.count { A[i] = (2 * rng.nextUnitFloat() - 1) * bound }
        store.values(b).update(repeating: 0, count: b.count)
    }
}
