import TensorCore

/// Which adapter, if any, sits on a linear layer.
public enum AdapterKind: Sendable {
    case none
    case dcft(DCFTAdapter)
    case lora(LoRAAdapter)
}

/// A linear layer `y = x·Wᵀ + b (+ adapter term)` in Hugging Face layout (`W: [out × in]`).
///
/// `W` and `b` are frozen under PEFT (no `dW` gemm is ever run for them) and trainable in full
/// fine-tuning. The layer owns the small buffers its adapter saves between forward and backward.
public final class AdaptedLinear {
    public let name: String
    public let weight: ParamRef, bias: ParamRef
    public let inFeatures: Int, outFeatures: Int
    public private(set) var adapter: AdapterKind = .none

    // Saved for backward (sized on demand, never shrunk).
    private let saved1 = Buffer<Float>(count: 0)   // DCFT u [rows × d] | LoRA t [rows × r]
    private let saved2 = Buffer<Float>(count: 0)   // DCFT v [rows × d] | LoRA dropped x [rows × in]
    private let keep = Buffer<Float>(count: 0)     // LoRA dropout mask (as bytes, over-allocated)
    private let work = Buffer<Float>(count: 0)

    /// Registers `name.weight [out × in]` and `name.bias [out]`.
    public init(store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, trainable: Bool) {
        self.name = name; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = store.register(name + ".weight", shape: [outFeatures, inFeatures], trainable: trainable)
        bias = store.register(name + ".bias", shape: [outFeatures], trainable: trainable)
    }

    /// Attaches a DCFT adapter (registers its trainable A, B, C).
    public func attachDCFT(store: ParameterStore, options: DCFTOptions) {
        adapter = .dcft(DCFTAdapter(store: store, prefix: name, inFeatures: inFeatures, outFeatures: outFeatures, options: options))
    }

    /// Attaches a LoRA adapter (registers its trainable A, B).
    public func attachLoRA(store: ParameterStore, options: LoRAOptions) {
        adapter = .lora(LoRAAdapter(store: store, prefix: name, inFeatures: inFeatures, outFeatures: outFeatures, options: options))
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
        switch adapter {
        case .none:
            frozen(accumulate: false)
        case .dcft(let a):
            saved1.ensureCapacity(rows * a.kernel)
            saved2.ensureCapacity(rows * a.kernel)
            a.forward(store: store, x: x, y: y, u: saved1.pointer, v: saved2.pointer, rows: rows, bias: b)
            frozen(accumulate: true)
        case .lora(let a):
            saved1.ensureCapacity(rows * a.rank)
            let dropped = training && a.dropout > 0
            if dropped {
                saved2.ensureCapacity(rows * inFeatures)
                keep.ensureCapacity((rows * inFeatures + 3) / 4)
            }
            work.ensureCapacity(a.rank * outFeatures)
            let keepBytes = UnsafeMutableRawPointer(keep.pointer).assumingMemoryBound(to: UInt8.self)
            let first = a.usesRowKernel(training: training)
            if !first { frozen(accumulate: false) }
            a.forward(store: store, x: x, y: y, t: saved1.pointer, xd: dropped ? saved2.pointer : nil,
                      keep: dropped ? keepBytes : nil, scratch: work.pointer, rows: rows, training: training, rng: &rng,
                      bias: first ? b : nil)
            if first { frozen(accumulate: true) }
        }
    }

    /// Backward given `dy [rows × out]`: accumulates `dx` (nil when nothing below needs it),
    /// and gradients of the trainable tensors only (`dW`/`db` only in full fine-tuning).
    /// `accumulateDX: false` overwrites `dx`: the adapter kernel writes it where it can (DCFT,
    /// LoRA's row kernel) and the frozen gemm accumulates, else the gemm writes and the adapter adds.
    public func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, accumulateDX: Bool = true) {
        var adapterWritesDX = false
        switch adapter {
        case .none: break
        case .dcft: adapterWritesDX = !accumulateDX && dx != nil
        case .lora(let a): adapterWritesDX = !accumulateDX && dx != nil && a.usesRowKernel(training: training)
        }
        func frozen() {
            Linear.backward(x: x, weight: store.values(weight), dy: dy, dx: dx,
                            dWeight: store.gradient(weight), dBias: store.gradient(bias),
                            rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            accumulateDX: accumulateDX || adapterWritesDX)
        }
        if !adapterWritesDX { frozen() }
        switch adapter {
        case .none: break
        case .dcft(let a):
            work.ensureCapacity(a.workCount(rows: rows))
            a.backward(store: store, x: x, u: saved1.pointer, v: saved2.pointer, dy: dy, dx: dx, rows: rows, work: work.pointer,
                       overwriteDX: adapterWritesDX)
        case .lora(let a):
            let dropped = training && a.dropout > 0
            work.ensureCapacity(a.workCount(rows: rows, training: training))
            let keepBytes = UnsafeMutableRawPointer(keep.pointer).assumingMemoryBound(to: UInt8.self)
            a.backward(store: store, x: x, t: saved1.pointer, xd: dropped ? saved2.pointer : nil,
                       keep: dropped ? keepBytes : nil, dy: dy, dx: dx, rows: rows, training: training, work: work.pointer,
                       overwriteDX: adapterWritesDX)
        }
        if adapterWritesDX { frozen() }
    }

    /// `W0 + ΔW` for export: a copy of the weight with the adapter merged in.
    public func mergedWeight(store: ParameterStore) -> [Float] {
        var w = Array(UnsafeBufferPointer(start: store.values(weight), count: weight.count))
        w.withUnsafeMutableBufferPointer { p in
            switch adapter {
            case .none: break
            case .dcft(let a): a.merge(store: store, into: p.baseAddress!)
            case .lora(let a): a.merge(store: store, into: p.baseAddress!)
            }
        }
        return w
    }
}
