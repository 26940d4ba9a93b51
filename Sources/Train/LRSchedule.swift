/// Linear warmup then linear decay to zero — Hugging Face's
/// `get_linear_schedule_with_warmup`, evaluated at the 0-based optimizer step `s`:
///
///     lr(s) = peak · s / warmup                          for s < warmup
///     lr(s) = peak · max(0, (total − s) / (total − warmup))   otherwise
public struct LinearSchedule: Sendable, Equatable {
    public let peak: Double
    public let warmup: Int
    public let total: Int

    /// `warmupSteps` wins when positive; otherwise `ceil(warmupRatio · total)` (HF's rule).
    public init(peak: Double, total: Int, warmupSteps: Int = 0, warmupRatio: Double = 0) {
        self.peak = peak
        self.total = max(total, 1)
        warmup = warmupSteps > 0 ? warmupSteps : Int((warmupRatio * Double(total)).rounded(.up))
    }

    public func lr(at step: Int) -> Double {
        if step < warmup { return peak * Double(step) / Double(max(1, warmup)) }
        return peak * max(0, Double(total - step) / Double(max(1, total - warmup)))
    }
}

/// Clipping by the global L2 norm of the (already averaged) gradient, as
/// `torch.nn.utils.clip_grad_norm_`: scale by `maxNorm / (norm + 1e-6)` when that is < 1.
public enum GradientClipping {
    /// The L2 norm of `count` values, accumulated in Double in index order (deterministic).
    public static func norm(_ g: UnsafePointer<Float>, count: Int) -> Double {
        var s = 0.0
        for i in 0..<count { let v = Double(g[i]); s += v * v }
        return s.squareRoot()
    }

    /// Clips in place; returns the norm before clipping. `maxNorm <= 0` disables clipping.
    @discardableResult
    public static func clip(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double) -> Double {
        let n = norm(g, count: count)
        if maxNorm > 0 && n.isFinite {
            let coef = maxNorm / (n + 1e-6)
            if coef < 1 { let c = Float(coef); for i in 0..<count { g[i] *= c } }
        }
        return n
    }
}
