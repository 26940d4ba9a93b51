import TensorCore

/// Hyperparameters of DCFT adapters (docs/DESIGN.md §2); `adapter.type: dcft`.
public struct DCFTOptions: AdapterMethod, Equatable, Codable {
    public static let name = "dcft"
    public static let fields: [AdapterField] = [
        AdapterField("kernel", default: 8, integer: true, range: 1...4096, doc: "DCFT kernel size d."),
        AdapterField("stride", default: 0, integer: true, range: 0...4096, doc: "DCFT stride s (0 = d; s < d overlaps kernels)."),
        AdapterField("alpha", default: 32, range: -1e6...1e6, doc: "DCFT α in scale = α / (r + 1e-5)."),
        AdapterField("r", default: 8, range: 0...1e6, doc: "DCFT r in the scale (reference code: 8)."),
        AdapterField("init_std", default: 0.02, range: 0...10, doc: "Std of the N(0, σ²) init of DCFT A, B, C."),
    ]

    /// Kernel size `d` of the transposed convolution (and of `C`, `d × d`).
    public var kernel: Int = 8
    /// Stride `s` (default `d`: no overlap). `s < d` overlaps kernels (paper Table 5).
    public var stride: Int? = nil
    /// `α` in `scale = α / (r + 1e-5)`.
    public var alpha: Float = 32
    /// `r` in the scale (the reference code uses 8).
    public var r: Float = 8
    /// Standard deviation of the N(0, σ²) init of A, B and C.
    public var initStd: Float = 0.02

    public init(kernel: Int = 8, stride: Int? = nil, alpha: Float = 32, r: Float = 8, initStd: Float = 0.02) {
        self.kernel = kernel; self.stride = stride; self.alpha = alpha; self.r = r; self.initStd = initStd
    }

    public init(settings s: AdapterSettings) throws {
        let all = Self.complete(s)
        let k = Int(all["kernel"]!), st = Int(all["stride"]!)
        guard st <= k else { throw ConfigError(file: "adapter", problem: "stride \(st) must be at most kernel \(k) (0 = kernel)") }
        self.init(kernel: k, stride: st == 0 || st == k ? nil : st, alpha: Float(all["alpha"]!), r: Float(all["r"]!),
                  initStd: Float(all["init_std"]!))
    }

    public var settings: AdapterSettings {
        ["kernel": Double(kernel), "stride": Double(effectiveStride), "alpha": Double(alpha), "r": Double(r), "init_std": Double(initStd)]
    }

    public func makeAdapter(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int) -> LinearAdapter {
        DCFTAdapter(store: store, prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures, options: self)
    }

    /// `α / (r + 1e-5)`, exactly as the reference code computes it.
    public var scale: Float { alpha / (r + 1e-5) }
    public var effectiveStride: Int { stride ?? kernel }

    /// Length of the subspace vector for a dimension of size `n`: `(n − d)/s + 1`.
    public func subspaceLength(_ n: Int) -> Int { (n - kernel) / effectiveStride + 1 }

    /// Why a `inFeatures × outFeatures` layer cannot take this kernel/stride, or nil if it can.
    public func incompatibility(inFeatures: Int, outFeatures: Int) -> String? {
        let d = kernel, s = effectiveStride
        if d < 1 || s < 1 || s > d { return "kernel \(d) and stride \(s) must satisfy 1 ≤ stride ≤ kernel" }
        for n in [inFeatures, outFeatures] where n < d || (n - d) % s != 0 {
            return "size \(n) is not covered exactly by kernel \(d) with stride \(s) ((\(n) − \(d)) must be a multiple of \(s))"
        }
        return nil
    }
}

/// One DCFT adapter on a linear layer `W0: [out × in]` (docs/DESIGN.md §2):
/// `y += scale · x·M`, `M[s·i+p, s·j+q] += A[i]·B[j]·C[p,q]`, `M ∈ R^(in × out)`.
///
/// `M` is never built while training. With `u = ` the kernel-strided sum of `x` weighted by A,
/// the adapter costs O(n·(in + out + d²)) instead of O(n·in·out):
///
///     u[n,p] = Σ_i A[i]·x[n, s·i+p]          [n × d]
///     v[n,q] = Σ_p u[n,p]·C[p,q]             [n × d]
///     y[n, s·j+q] += scale · B[j]·v[n,q]     [n × out]
public final class DCFTAdapter: LinearAdapter {
    public let a: ParamRef, b: ParamRef, c: ParamRef
    public let inFeatures: Int, outFeatures: Int
    public let kernel: Int, stride: Int
    public let scale: Float
    public let initStd: Float
    public let parameterNames: [String]
    public var parameters: [ParamRef] { [a, b, c] }
    /// Saved by `forward` for `backward`: `u`, `v` `[rows × d]` each; and backward's scratch
    /// (sized on demand, never shrunk).
    private let savedU = Buffer<Float>(count: 0), savedV = Buffer<Float>(count: 0), work = Buffer<Float>(count: 0)
    /// `(in − d)/s + 1` and `(out − d)/s + 1`.
    public var nIn: Int { (inFeatures - kernel) / stride + 1 }
    public var nOut: Int { (outFeatures - kernel) / stride + 1 }

    /// Registers `prefix.dcft_A [nIn]`, `prefix.dcft_B [nOut]`, `prefix.dcft_C [d × d]` as trainable.
    public init(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int, options: DCFTOptions) {
        precondition(options.incompatibility(inFeatures: inFeatures, outFeatures: outFeatures) == nil,
                     "\(prefix): \(options.incompatibility(inFeatures: inFeatures, outFeatures: outFeatures)!)")
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        kernel = options.kernel; stride = options.effectiveStride; scale = options.scale; initStd = options.initStd
        parameterNames = [prefix + ".dcft_A", prefix + ".dcft_B", prefix + ".dcft_C"]
        a = store.register(prefix + ".dcft_A", shape: [options.subspaceLength(inFeatures)], trainable: true)
        b = store.register(prefix + ".dcft_B", shape: [options.subspaceLength(outFeatures)], trainable: true)
        c = store.register(prefix + ".dcft_C", shape: [options.kernel, options.kernel], trainable: true)
    }

    /// Trainable scalars: `nIn + nOut + d²`.
    public var parameterCount: Int { nIn + nOut + kernel * kernel }

    // MARK: LinearAdapter

    /// DCFT always writes `y = b + term` (overlapping kernels add up, so it starts from `b`).
    public func writesOutput(training: Bool) -> Bool { true }
    public func writesInputGradient(training: Bool) -> Bool { true }

    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int,
                        training: Bool, rng: inout SeededRNG, bias: UnsafePointer<Float>?) {
        savedU.ensureCapacity(rows * kernel)
        savedV.ensureCapacity(rows * kernel)
        forward(store: store, x: x, y: y, u: savedU.pointer, v: savedV.pointer, rows: rows, bias: bias)
    }

    public func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, overwriteDX: Bool) {
        work.ensureCapacity(workCount(rows: rows))
        backward(store: store, x: x, u: savedU.pointer, v: savedV.pointer, dy: dy, dx: dx, rows: rows, work: work.pointer,
                 overwriteDX: overwriteDX)
    }

    public func initialize(store: ParameterStore, rng: inout SeededRNG) { initialize(store: store, std: initStd, rng: &rng) }

    /// A and B are the subspace vectors the orthogonality penalty keeps near unit norm.
    public var orthogonalVectors: [ParamRef] { [a, b] }

    // MARK: kernels

    /// Adds the adapter term to `y` and saves `u`, `v` (`[rows × d]` each) for backward.
    /// With `bias` (`[out]`), `y` is overwritten with `bias + term` instead, so the frozen gemm
    /// can then accumulate into it (one write of `y` instead of a write plus a read-modify-write).
    public func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                        u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, rows: Int,
                        bias: UnsafePointer<Float>? = nil) {
        let A = store.values(a), B = store.values(b), C = store.values(c)
        let d = kernel, s = stride, nIn = nIn, nOut = nOut, inF = inFeatures, outF = outFeatures, scale = scale
        if usesTiledKernel {
            return forwardTiled(A: A, B: B, C: C, x: x, y: y, u: u, v: v, rows: rows, bias: bias)
        }
        Parallel.forRanges(rows, grain: 64) { range in
            for n in range {
                let xr = x + n * inF, ur = u + n * d, vr = v + n * d, yr = y + n * outF
                if let bias { yr.update(from: bias, count: outF) }   // overlapping kernels add up: start from b
                for p in 0..<d { ur[p] = 0 }
                for i in 0..<nIn {
                    let ai = A[i], xi = xr + s * i
                    for p in 0..<d { ur[p] += ai * xi[p] }
                }
                for q in 0..<d { vr[q] = 0 }
                for p in 0..<d {
                    let up = ur[p], cp = C + p * d
                    for q in 0..<d { vr[q] += up * cp[q] }
                }
                for j in 0..<nOut {
                    let bj = scale * B[j], yj = yr + s * j
                    for q in 0..<d { yj[q] += bj * vr[q] }
                }
            }
        }
    }

    /// Rows per block of the parameter-gradient reduction (fixed, so the summation order —
    /// and the result, bit for bit — does not depend on the thread count).
    public static let gradientBlockRows = 128

    /// Floats of `work` that `backward` needs for `rows` rows: `dv`, `du` (`rows·d` each) and
    /// one block of partial gradients per `gradientBlockRows` rows — `[nOut + d² + nIn]`, or
    /// `[out + 8·d + in]` for the tiled kernel, which keeps them per lane.
    public func workCount(rows: Int) -> Int {
        let blocks = (rows + Self.gradientBlockRows - 1) / Self.gradientBlockRows
        return 2 * rows * kernel + blocks * (kernel * (nIn + nOut) + max(kernel * kernel, 8 * kernel))
    }

    /// Backward of `forward` given `dy [rows × out]`, accumulating `dx` (when non-nil;
    /// `overwriteDX` writes it instead) and the gradients of A, B and C. `work` needs
    /// `workCount(rows:)` floats.
    ///
    ///     dv[n,q] = scale · Σ_j B[j]·dy[n, s·j+q]     dB[j] += scale · Σ_n Σ_q dy[n, s·j+q]·v[n,q]
    ///     du[n,p] = Σ_q dv[n,q]·C[p,q]                dC[p,q] += Σ_n u[n,p]·dv[n,q]
    ///     dx[n, s·i+p] += A[i]·du[n,p]                dA[i] += Σ_n Σ_p x[n, s·i+p]·du[n,p]
    ///
    /// Rows are processed in parallel in fixed blocks; each block writes its partial parameter
    /// gradients `[dB | dC | dA]`, which are then summed in block order (deterministic).
    public func backward(store: ParameterStore, x: UnsafePointer<Float>, u: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int,
                         work: UnsafeMutablePointer<Float>, overwriteDX: Bool = false) {
        let A = store.values(a), B = store.values(b), C = store.values(c)
        guard let dA = store.gradient(a), let dB = store.gradient(b), let dC = store.gradient(c) else {
            if overwriteDX, let dx { dx.update(repeating: 0, count: rows * inFeatures) }   // frozen adapter: term's dx is 0
            return
        }
        let d = kernel, s = stride, nIn = nIn, nOut = nOut, inF = inFeatures, outF = outFeatures, scale = scale
        let P = parameterCount, blockRows = Self.gradientBlockRows
        let blocks = (rows + blockRows - 1) / blockRows
        let dv = work, du = work + rows * d           // [rows × d] each
        let partials = work + 2 * rows * d            // [blocks × (nOut + d² + nIn)] (tiled: see there)
        if usesTiledKernel {
            return backwardTiled(A: A, B: B, C: C, dA: dA, dB: dB, dC: dC, x: x, u: u, v: v, dy: dy, dx: dx,
                                 overwriteDX: overwriteDX, rows: rows,
                             dv: dv, du: du, partials: partials)
        }
        Parallel.forBlocks(rows, blockSize: blockRows) { blk, rowRange in
            let pB = partials + blk * P, pC = pB + nOut, pA = pC + d * d
            for t in 0..<P { pB[t] = 0 }
            for n in rowRange {
                let dyr = dy + n * outF, dvr = dv + n * d, dur = du + n * d
                let vr = v + n * d, ur = u + n * d, xr = x + n * inF
                for q in 0..<d { dvr[q] = 0 }
                for j in 0..<nOut {
                    let bj = scale * B[j], dyj = dyr + s * j
                    var acc: Float = 0
                    for q in 0..<d { dvr[q] += bj * dyj[q]; acc += dyj[q] * vr[q] }
                    pB[j] += acc
                }
                for p in 0..<d {
                    let cp = C + p * d, up = ur[p], pCp = pC + p * d
                    var acc: Float = 0
                    for q in 0..<d { acc += dvr[q] * cp[q]; pCp[q] += up * dvr[q] }
                    dur[p] = acc
                }
                for i in 0..<nIn {
                    let xi = xr + s * i
                    var acc: Float = 0
                    for p in 0..<d { acc += xi[p] * dur[p] }
                    pA[i] += acc
                }
                if let dx {
                    let dxr = dx + n * inF
                    if overwriteDX { dxr.update(repeating: 0, count: inF) }   // overlapping kernels add up
                    for i in 0..<nIn {
                        let ai = A[i], dxi = dxr + s * i
                        for p in 0..<d { dxi[p] += ai * dur[p] }
                    }
                }
            }
        }
        for blk in 0..<blocks {
            let pB = partials + blk * P, pC = pB + nOut, pA = pC + d * d
            for j in 0..<nOut { dB[j] += scale * pB[j] }
            for t in 0..<(d * d) { dC[t] += pC[t] }
            for i in 0..<nIn { dA[i] += pA[i] }
        }
    }

    /// The full increment `M [in × out]` (for merging, export and tests only).
    public func materialize(store: ParameterStore) -> [Float] {
        let A = store.values(a), B = store.values(b), C = store.values(c)
        var m = [Float](repeating: 0, count: inFeatures * outFeatures)
        for i in 0..<nIn { for j in 0..<nOut { for p in 0..<kernel { for q in 0..<kernel {
            m[(stride * i + p) * outFeatures + stride * j + q] += A[i] * B[j] * C[p * kernel + q]
        } } } }
        return m
    }

    /// Adds `scale · Mᵀ` to a weight `W [out × in]` (the merge of docs/DESIGN.md §4).
    public func merge(store: ParameterStore, into w: UnsafeMutablePointer<Float>) {
        let m = materialize(store: store)
        for o in 0..<outFeatures { for r in 0..<inFeatures { w[o * inFeatures + r] += scale * m[r * outFeatures + o] } }
    }

    /// N(0, σ²) init of A, B and C from `rng` (A, then B, then C).
    public func initialize(store: ParameterStore, std: Float, rng: inout SeededRNG) {
        for ref in [a, b, c] {
            rng.fillNormal(UnsafeMutableBufferPointer(start: store.values(ref), count: ref.count), std: std)
        }
    }
}
