import TensorCore

/// Hyperparameters of LoRA adapters (the baseline), as PEFT defines them; `adapter.type: lora`.
public struct LoRAOptions: AdapterMethod, Equatable, Codable {
    public static let name = "lora"
    public static let fields: [AdapterField] = [
        AdapterField("lora_rank", default: 8, integer: true, range: 1...65536, doc: "LoRA rank r."),
        AdapterField("lora_alpha", default: 16, range: -1e6...1e6, doc: "LoRA α (scaling α/r)."),
        AdapterField("lora_dropout", default: 0, range: 0...0.999999, doc: "LoRA dropout on the adapter input."),
    ]

    public var rank: Int = 8
    public var alpha: Float = 16
    /// Dropout on the adapter's input (PEFT's `lora_dropout`).
    public var dropout: Double = 0
    public init(rank: Int = 8, alpha: Float = 16, dropout: Double = 0) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout
    }
    /// PEFT's `scaling = lora_alpha / r`.
    public var scale: Float { alpha / Float(rank) }

    public init(settings s: AdapterSettings) throws {
        let all = Self.complete(s)
        self.init(rank: Int(all["lora_rank"]!), alpha: Float(all["lora_alpha"]!), dropout: all["lora_dropout"]!)
    }

    public var settings: AdapterSettings { ["lora_rank": Double(rank), "lora_alpha": Double(alpha), "lora_dropout": dropout] }

    public func makeAdapter(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int) -> LinearAdapter {
        LoRAAdapter(store: store, prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures, options: self)
    }
}

/// One LoRA adapter on a linear layer `W0: [out × in]`:
/// `y += scale · dropout(x)·Aᵀ·Bᵀ`, `A: [r × in]`, `B: [out × r]` (PEFT's `lora_A`, `lora_B`).
/// Init as PEFT: A kaiming-uniform (`a = √5`, i.e. U(−1/√in, 1/√in)), B zero.
public final class LoRAAdapter: LinearAdapter {
    public let a: ParamRef, b: ParamRef
    public let inFeatures: Int, outFeatures: Int, rank: Int
    public let scale: Float
    public let dropout: Double
    public let parameterNames: [String]
    public var parameters: [ParamRef] { [a, b] }
    // Saved for backward (sized on demand, never shrunk): t [rows × r], the dropped input
    // [rows × in] and its mask (bytes) with dropout; forward's Bᵀ scratch and backward's work.
    private let savedT = Buffer<Float>(count: 0), savedXD = Buffer<Float>(count: 0)
    private let keep = Buffer<Float>(count: 0), work = Buffer<Float>(count: 0)

    public init(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int, options: LoRAOptions) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; rank = options.rank
        scale = options.scale; dropout = options.dropout
        parameterNames = [prefix + ".lora_A.weight", prefix + ".lora_B.weight"]
        a = store.register(prefix + ".lora_A.weight", shape: [options.rank, inFeatures], trainable: true)
        b = store.register(prefix + ".lora_B.weight", shape: [outFeatures, options.rank], trainable: true)
    }

    public var parameterCount: Int { rank * (inFeatures + outFeatures) }

    // MARK: LinearAdapter

    /// The row kernel (r ≤ 8, no dropout) writes `y = b + term` and `dx`; the BLAS path adds.
    public func writesOutput(training: Bool) -> Bool { usesRowKernel(training: training) }
    public func writesInputGradient(training: Bool) -> Bool { usesRowKernel(training: training) }

    private var keepBytes: UnsafeMutablePointer<UInt8> { UnsafeMutableRawPointer(keep.pointer).assumingMemoryBound(to: UInt8.self) }

    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int,
                        training: Bool, rng: inout SeededRNG, bias: UnsafePointer<Float>?) {
        savedT.ensureCapacity(rows * rank)
        let dropped = training && dropout > 0
        if dropped {
            savedXD.ensureCapacity(rows * inFeatures)
            keep.ensureCapacity((rows * inFeatures + 3) / 4)
        }
        work.ensureCapacity(rank * outFeatures)
        forward(store: store, x: x, y: y, t: savedT.pointer, xd: dropped ? savedXD.pointer : nil,
                keep: dropped ? keepBytes : nil, scratch: work.pointer, rows: rows, training: training, rng: &rng,
                bias: writesOutput(training: training) ? bias : nil)
    }

    public func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, overwriteDX: Bool) {
        let dropped = training && dropout > 0
        work.ensureCapacity(workCount(rows: rows, training: training))
        backward(store: store, x: x, t: savedT.pointer, xd: dropped ? savedXD.pointer : nil, keep: dropped ? keepBytes : nil,
                 dy: dy, dx: dx, rows: rows, training: training, work: work.pointer, overwriteDX: overwriteDX)
    }

    // MARK: kernels

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
