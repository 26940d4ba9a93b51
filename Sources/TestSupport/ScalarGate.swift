import Model
import TensorCore

/// A toy adapter that exists to prove the adapter seam: one new file plus one registration
/// line (`AdapterRegistry.register(ScalarGateOptions.self)`, done by the test program and the
/// tests) and it trains, checkpoints, resumes, exports and merges through dcft's real code.
///
/// One trainable scalar `g` per linear `[out × in]`: `y += g · x·Pᵀ` with the fixed selection
/// `P[o, i] = 1 if i == o mod in` (output `o` reads input `o mod in`), so `ΔW = g·P`.
public struct ScalarGateOptions: AdapterMethod, Equatable {
    public static let name = "gate"
    public static let fields = [AdapterField("gate_init", default: 0.1, range: -10...10, doc: "Toy gate: initial g.")]
    public var initial: Float

    public init(settings: AdapterSettings) throws { initial = Float(Self.complete(settings)["gate_init"]!) }
    public var settings: AdapterSettings { ["gate_init": Double(initial)] }

    public func makeAdapter(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int) -> LinearAdapter {
        ScalarGate(store: store, prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures, initial: initial)
    }
}

public final class ScalarGate: LinearAdapter {
    public let g: ParamRef
    public let inFeatures: Int, outFeatures: Int
    let initial: Float
    public let parameterNames: [String]
    public var parameters: [ParamRef] { [g] }

    init(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int, initial: Float) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.initial = initial
        parameterNames = [prefix + ".gate_g"]
        g = store.register(prefix + ".gate_g", shape: [1], trainable: true)
    }

    public func writesOutput(training: Bool) -> Bool { false }
    public func writesInputGradient(training: Bool) -> Bool { false }

    /// `y[n, o] += g · x[n, o mod in]`.
    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int,
                        training: Bool, rng: inout SeededRNG, bias: UnsafePointer<Float>?) {
        let gv = store.values(g)[0]
        for n in 0..<rows { for o in 0..<outFeatures { y[n * outFeatures + o] += gv * x[n * inFeatures + o % inFeatures] } }
    }

    /// `dg += Σ dy[n, o]·x[n, o mod in]`, `dx[n, o mod in] += g · dy[n, o]`.
    public func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, overwriteDX: Bool) {
        let gv = store.values(g)[0]
        var acc: Float = 0
        for n in 0..<rows {
            for o in 0..<outFeatures {
                let d = dy[n * outFeatures + o]
                acc += d * x[n * inFeatures + o % inFeatures]
                dx?[n * inFeatures + o % inFeatures] += gv * d
            }
        }
        store.gradient(g)?[0] += acc
    }

    public func merge(store: ParameterStore, into w: UnsafeMutablePointer<Float>) {
        let gv = store.values(g)[0]
        for o in 0..<outFeatures { w[o * inFeatures + o % inFeatures] += gv }
    }

    public func initialize(store: ParameterStore, rng: inout SeededRNG) { store.values(g)[0] = initial }
}
