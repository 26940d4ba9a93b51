import TensorCore
import Model

/// AdamW with Hugging Face / PyTorch semantics over the flat trainable buffer:
///
///     p ← p − lr·wd·p                      (decoupled weight decay, decayed tensors only)
///     m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
///     p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + eps)   (eps outside the root)
///
/// No weight decay on biases and LayerNorm tensors (`noDecay(name)`). The moments `m`, `v`
/// and `step` are the state a checkpoint saves.
public final class AdamW {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Number of updates applied so far (t in the bias corrections).
    public internal(set) var step: Int = 0
    /// First and second moments, one per trainable scalar.
    public let m: Buffer<Float>, v: Buffer<Float>
    /// Element ranges of the flat buffer that receive weight decay.
    public let decayRanges: [Range<Int>]

    /// Whether a tensor is exempt from weight decay (biases and LayerNorm, as HF's Trainer).
    public static func noDecay(_ name: String) -> Bool {
        name.hasSuffix("bias") || name.contains("LayerNorm")
    }

    public init(store: ParameterStore, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        let n = store.trainableParameterCount
        m = Buffer(count: n)
        v = Buffer(count: n)
        decayRanges = store.entries.filter { $0.ref.trainable && !Self.noDecay($0.name) }
            .map { $0.ref.offset..<($0.ref.offset + $0.ref.count) }
    }

    /// Applies one update with learning rate `lr` to `params` from `grads` (both the store's
    /// trainable buffers).
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, lr: Float) {
        step += 1
        let n = m.count
        if weightDecay != 0 {
            let f = 1 - lr * weightDecay
            for r in decayRanges { for i in r { params[i] *= f } }
        }
        let bc1 = 1 - Float(Double(beta1).power(step)), bc2 = 1 - Float(Double(beta2).power(step))
        let stepSize = lr / bc1, rbc2 = 1 / bc2.squareRoot()
        let M = m.pointer, V = v.pointer, b1 = beta1, b2 = beta2, eps = eps
        Parallel.forRanges(n, grain: 65_536) { range in
            for i in range {
                let g = grads[i]
                M[i] = b1 * M[i] + (1 - b1) * g
                V[i] = b2 * V[i] + (1 - b2) * g * g
                params[i] -= stepSize * M[i] / (V[i].squareRoot() * rbc2 + eps)
            }
        }
    }

    /// Restores the state saved by a checkpoint.
    public func restore(step: Int, m: [Float], v: [Float]) {
        precondition(m.count == self.m.count && v.count == self.v.count, "optimizer state size mismatch")
        self.step = step
        m.withUnsafeBufferPointer { self.m.pointer.update(from: $0.baseAddress!, count: $0.count) }
        v.withUnsafeBufferPointer { self.v.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }
}

extension Double {
    /// `self` raised to a non-negative integer power.
    func power(_ n: Int) -> Double { var r = 1.0; for _ in 0..<n { r *= self }; return r }
}
