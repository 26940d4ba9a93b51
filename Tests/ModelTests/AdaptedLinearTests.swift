import Testing
import TensorCore
@testable import Model

/// `AdaptedLinear` lets the adapter kernel write `y = b + term` (and `dx = term′` when the
/// caller overwrites dx) before the frozen gemm accumulates. Checked against the unfused
/// composition: `Linear` first, then the adapter adding its term.
@Suite("Adapted linear: adapter-first fusion")
struct AdaptedLinearTests {
    enum Kind: CustomStringConvertible, Sendable {
        case dcft(d: Int, s: Int), lora(r: Int)
        var description: String {
            switch self { case let .dcft(d, s): "DCFT d=\(d) s=\(s)"; case let .lora(r): "LoRA r=\(r)" }
        }
    }

    @Test("forward and overwriting backward equal Linear followed by the adapter",
          arguments: [(Kind.dcft(d: 8, s: 8), 32, 48), (.dcft(d: 2, s: 2), 16, 24), (.dcft(d: 4, s: 4), 24, 8),
                      (.dcft(d: 3, s: 1), 9, 7), (.lora(r: 2), 24, 40), (.lora(r: 12), 24, 40)])
    func matchesUnfused(kind: Kind, inF: Int, outF: Int) {
        let rows = 300
        let store = ParameterStore()
        let lin = AdaptedLinear(store: store, name: "l", inFeatures: inF, outFeatures: outF, trainable: false)
        switch kind {
        case let .dcft(d, s): lin.attach(DCFTOptions(kernel: d, stride: s), store: store)
        case let .lora(r): lin.attach(LoRAOptions(rank: r, alpha: Float(2 * r)), store: store)
        }
        store.allocate()
        var rng = SeededRNG(seed: 77)
        func randoms(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * Float(rng.nextNormal()) } }
        store.set("l.weight", randoms(inF * outF, 0.2)); store.set("l.bias", randoms(outF))
        let names: [String]
        switch kind {
        case .dcft: names = ["l.dcft_A", "l.dcft_B", "l.dcft_C"]
        case .lora: names = ["l.lora_A.weight", "l.lora_B.weight"]
        }
        for n in names { store.set(n, randoms(store.get(n).count, 0.5)) }
        func adapterGradients() -> [Float] { names.flatMap { store.getGradient($0)! } }
        let x = randoms(rows * inF), dy = randoms(rows * outF)

        // Fused path, into buffers full of NaN (anything not overwritten shows).
        var y = [Float](repeating: .nan, count: rows * outF), dx = [Float](repeating: .nan, count: rows * inF)
        var noise = SeededRNG(seed: 1)
        lin.forward(store: store, x: x, y: &y, rows: rows, training: true, rng: &noise)
        store.gradients.zero()
        lin.backward(store: store, x: x, dy: dy, dx: &dx, rows: rows, training: true, accumulateDX: false)
        let fusedGrads = adapterGradients()

        // Unfused reference: Linear, then the adapter kernels adding their terms.
        var yRef = [Float](repeating: 0, count: rows * outF), dxRef = [Float](repeating: 0, count: rows * inF)
        Linear.forward(x: x, weight: store.values(lin.weight), bias: store.values(lin.bias), y: &yRef,
                       rows: rows, inFeatures: inF, outFeatures: outF)
        Linear.backward(x: x, weight: store.values(lin.weight), dy: dy, dx: &dxRef, dWeight: nil, dBias: nil,
                        rows: rows, inFeatures: inF, outFeatures: outF)
        store.gradients.zero()
        switch lin.adapter {
        case let a as DCFTAdapter:
            var u = [Float](repeating: 0, count: rows * a.kernel), v = u, work = [Float](repeating: 0, count: a.workCount(rows: rows))
            a.forward(store: store, x: x, y: &yRef, u: &u, v: &v, rows: rows)
            a.backward(store: store, x: x, u: u, v: v, dy: dy, dx: &dxRef, rows: rows, work: &work)
        case let a as LoRAAdapter:
            var t = [Float](repeating: 0, count: rows * a.rank), scratch = [Float](repeating: 0, count: a.rank * outF)
            var work = [Float](repeating: 0, count: a.workCount(rows: rows, training: true))
            a.forward(store: store, x: x, y: &yRef, t: &t, xd: nil, keep: nil, scratch: &scratch, rows: rows,
                      training: true, rng: &noise)
            a.backward(store: store, x: x, t: t, xd: nil, keep: nil, dy: dy, dx: &dxRef, rows: rows, training: true, work: &work)
        default: break
        }
        let refGrads = adapterGradients()

        func close(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = b.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * scale, "\(kind) \(what): max |Δ| \(worst) (scale \(scale))")
        }
        close(y, yRef, "y")
        close(dx, dxRef, "dx")
        #expect(fusedGrads == refGrads, "\(kind): adapter gradients do not depend on the order")
    }
}
