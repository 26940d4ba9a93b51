/// The orthogonality penalty on the adapters' subspace vectors (DCFT's A and B, from
/// `LinearAdapter.orthogonalVectors`), added to the loss as `γ · R`.
public enum OrthogonalityPenalty: String, Sendable, Codable, CaseIterable {
    /// The reference code: `R = mean over every A and B vector v of |‖v‖² − 1|`.
    case reference
    /// Paper eq. 4 with rank 1: `R = Σ over every A and B vector v of (‖v‖² − 1)²`
    /// (`‖AᵀA − I‖²_F` is `(‖A‖² − 1)²` for one vector).
    case paper

    /// Returns `γ · R` and accumulates its gradient into the vectors' gradients.
    ///
    /// Reference: `∂/∂v = γ · sign(‖v‖² − 1) · 2v / count`; paper: `γ · 2(‖v‖² − 1) · 2v`.
    public func apply(store: ParameterStore, vectors: [ParamRef], gamma: Float) -> Float {
        if vectors.isEmpty || gamma == 0 { return 0 }
        let count = Float(vectors.count)
        var total: Float = 0
        for ref in vectors {
            let v = store.values(ref)
            var sq: Float = 0
            for i in 0..<ref.count { sq += v[i] * v[i] }
            let e = sq - 1
            let coef: Float
            switch self {
            case .reference:
                total += abs(e)
                coef = gamma * (e > 0 ? 1 : e < 0 ? -1 : 0) * 2 / count
            case .paper:
                total += e * e
                coef = gamma * 4 * e
            }
            if let g = store.gradient(ref) { for i in 0..<ref.count { g[i] += coef * v[i] } }
        }
        return gamma * (self == .reference ? total / count : total)
    }
}
