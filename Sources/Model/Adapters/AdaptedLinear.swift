import TensorCore

/// A linear layer `y = x·Wᵀ + b (+ adapter term)` in Hugging Face layout (`W: [out × in]`).
///
/// `W` and `b` are frozen under PEFT (no `dW` gemm is ever run for them) and trainable in full
/// fine-tuning. The adapter, if any, is any `LinearAdapter`; it owns what it saves between
/// forward and backward.
public final class AdaptedLinear {
    public let name: String
    public let weight: ParamRef, bias: ParamRef
    public let inFeatures: Int, outFeatures: Int
    public private(set) var adapter: LinearAdapter?

    /// Registers `name.weight [out × in]` and `name.bias [out]`.
    public init(store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, trainable: Bool) {
        self.name = name; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = store.register(name + ".weight", shape: [outFeatures, inFeatures], trainable: trainable)
        bias = store.register(name + ".bias", shape: [outFeatures], trainable: trainable)
    }

    /// Attaches an adapter of `method` (registers its trainable tensors under this layer's name).
    @discardableResult
    public func attach(_ method: any AdapterMethod, store: ParameterStore) -> LinearAdapter {
        let a = method.makeAdapter(store: store, prefix: name, inFeatures: inFeatures, outFeatures: outFeatures)
        adapter = a
        return a
    }

    /// `y [rows × out] = x [rows × in]·Wᵀ + b + adapter(x)`. Overwrites `y`.
    ///
    /// Adapter first where its kernel can write `y = b + term` (DCFT; LoRA's row kernel): the
    /// frozen gemm then accumulates into `y` (beta = 1), so `y` is written once and updated once
    /// by BLAS instead of an extra read-modify-write pass for the adapter.
    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                        rows: Int, training: Bool, rng: inout SeededRNG) {
        let w = store.values(weight), b = store.values(bias)
        func frozen(accumulate: Bool) {
            Linear.forward(x: x, weight: w, bias: accumulate ? nil : b, y: y, rows: rows, inFeatures: inFeatures,
                           outFeatures: outFeatures, accumulate: accumulate)
        }
        guard let adapter else { return frozen(accumulate: false) }
        if adapter.writesOutput(training: training) {
            adapter.forward(store: store, x: x, y: y, rows: rows, training: training, rng: &rng, bias: b)
            frozen(accumulate: true)
        } else {
            frozen(accumulate: false)
            adapter.forward(store: store, x: x, y: y, rows: rows, training: training, rng: &rng, bias: nil)
        }
    }

    /// Backward given `dy [rows × out]`: accumulates `dx` (nil when nothing below needs it),
    /// and gradients of the trainable tensors only (`dW`/`db` only in full fine-tuning).
    /// `accumulateDX: false` overwrites `dx`: the adapter kernel writes it where it can (DCFT,
    /// LoRA's row kernel) and the frozen gemm accumulates, else the gemm writes and the adapter adds.
    public func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, accumulateDX: Bool = true) {
        let adapterWritesDX = !accumulateDX && dx != nil && (adapter?.writesInputGradient(training: training) ?? false)
        func frozen() {
            Linear.backward(x: x, weight: store.values(weight), dy: dy, dx: dx,
                            dWeight: store.gradient(weight), dBias: store.gradient(bias),
                            rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            accumulateDX: accumulateDX || adapterWritesDX)
        }
        if !adapterWritesDX { frozen() }
        adapter?.backward(store: store, x: x, dy: dy, dx: dx, rows: rows, training: training, overwriteDX: adapterWritesDX)
        if adapterWritesDX { frozen() }
    }

    /// `W0 + ΔW` for export: a copy of the weight with the adapter merged in.
    public func mergedWeight(store: ParameterStore) -> [Float] {
        var w = Array(UnsafeBufferPointer(start: store.values(weight), count: weight.count))
        if let adapter { w.withUnsafeMutableBufferPointer { adapter.merge(store: store, into: $0.baseAddress!) } }
        return w
    }
}
