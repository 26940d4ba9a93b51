import Testing
import TensorCore

@Suite("Dropout, RNG and embedding")
struct DropoutEmbeddingTests {
    @Test("dropout p = 0 is the identity; p = 0.25 keeps ~75% scaled by 4/3")
    func dropoutForward() {
        let n = 100_000
        let x = [Float](repeating: 3, count: n)
        var y = [Float](repeating: 0, count: n), keep = [UInt8](repeating: 0, count: n)
        var rng = SeededRNG(seed: 42)
        Dropout.forward(x: x, y: &y, keep: &keep, count: n, p: 0, rng: &rng)
        #expect(y == x && keep.allSatisfy { $0 == 1 })
        Dropout.forward(x: x, y: &y, keep: &keep, count: n, p: 0.25, rng: &rng)
        let kept = keep.reduce(0) { $0 + Int($1) }
        #expect(abs(Double(kept) / Double(n) - 0.75) < 0.01)  // 7 standard deviations
        for i in 0..<n { #expect(y[i] == (keep[i] == 1 ? 4 : 0)) }
    }

    @Test("dropout masks are reproducible from the seed and differ across streams")
    func dropoutDeterminism() {
        func mask(seed: UInt64, stream: UInt64) -> [UInt8] {
            var rng = SeededRNG(seed: seed, stream: stream)
            var y = [Float](repeating: 0, count: 256), keep = [UInt8](repeating: 0, count: 256)
            Dropout.forward(x: [Float](repeating: 1, count: 256), y: &y, keep: &keep, count: 256, p: 0.5, rng: &rng)
            return keep
        }
        #expect(mask(seed: 6, stream: 0) == mask(seed: 6, stream: 0))
        #expect(mask(seed: 6, stream: 0) != mask(seed: 6, stream: 1))
        #expect(mask(seed: 6, stream: 0) != mask(seed: 7, stream: 0))
    }

    @Test("dropout masks are drawn in parallel blocks but do not depend on the thread count")
    func dropoutThreadIndependence() {
        // An odd count spanning several blocks, so the last block and the last pair are partial.
        let n = 3 * Dropout.blockSize + 1_001
        let x = (0..<n).map { Float($0 % 7) }
        func run(threads: Int) -> ([UInt8], [Float], SeededRNG) {
            let saved = Parallel.threads
            defer { Parallel.threads = saved }
            Parallel.threads = threads
            var rng = SeededRNG(seed: 11)
            var y = [Float](repeating: 0, count: n), keep = [UInt8](repeating: 9, count: n)
            Dropout.forward(x: x, y: &y, keep: &keep, count: n, p: 0.1, rng: &rng)
            return (keep, y, rng)
        }
        let one = run(threads: 1), two = run(threads: 2), three = run(threads: 3)
        #expect(one.0 == two.0 && one.0 == three.0 && one.1 == two.1 && one.2 == two.2)
        #expect(one.0.allSatisfy { $0 <= 1 })  // every element written
        // Each block is its own stream: the blocks' masks are not copies of each other.
        let b = Dropout.blockSize
        #expect(Array(one.0[0..<b]) != Array(one.0[b..<2 * b]))
        let kept = Double(one.0.reduce(0) { $0 + Int($1) }) / Double(n)
        #expect(abs(kept - 0.9) < 0.006)  // ~7 standard deviations
    }

    @Test("the vectorised mask is the documented one: scalar xoshiro streams (key, 4·block + lane); Float = Double")
    func dropoutMaskDefinition() {
        let n = Dropout.blockSize + 37, p = 0.3
        var rng = SeededRNG(seed: 21)
        var y = [Float](repeating: 0, count: n), keep = [UInt8](repeating: 9, count: n)
        Dropout.forward(x: [Float](repeating: 1, count: n), y: &y, keep: &keep, count: n, p: p, rng: &rng)
        var rngD = SeededRNG(seed: 21)
        var yd = [Double](repeating: 0, count: n), keepD = [UInt8](repeating: 9, count: n)
        Dropout.forward(x: [Double](repeating: 1, count: n), y: &yd, keep: &keepD, count: n, p: p, rng: &rngD)
        #expect(keep == keepD)
        // Reference: element e of block b uses 32-bit half (e mod 2, low first) of draw e / 8 of
        // scalar stream SeededRNG(seed: key, stream: 4b + (e mod 8) / 2).
        var keyRNG = SeededRNG(seed: 21)
        let key = keyRNG.next()
        let threshold = UInt32((p * 4_294_967_296).rounded())
        var expected = [UInt8](repeating: 0, count: n)
        for b in 0..<2 {
            var lanes = (0..<4).map { SeededRNG(seed: key, stream: UInt64(4 * b + $0)) }
            let lo = b * Dropout.blockSize, hi = min(n, lo + Dropout.blockSize)
            var e = lo
            while e < hi {
                let draws = (0..<4).map { lanes[$0].next() }
                for w in 0..<8 where e + w < hi {
                    let word = UInt32(truncatingIfNeeded: draws[w / 2] >> (w % 2 == 0 ? 0 : 32))
                    expected[e + w] = word >= threshold ? 1 : 0
                }
                e += 8
            }
        }
        #expect(keep == expected)
        #expect(rng == keyRNG)  // the caller's generator advanced by exactly one draw
    }

    @Test("dropout backward passes the gradient through kept elements, scaled")
    func dropoutBackward() {
        let keep: [UInt8] = [1, 0, 1, 1]
        var dx: [Double] = [1, 1, 1, 1]
        Dropout.backward(dy: [2, 2, 2, 2], keep: keep, dx: &dx, count: 4, p: 0.5)
        #expect(dx == [5, 1, 5, 5])
    }

    @Test("RNG state restores exactly; normals have mean 0 and std 1")
    func rng() {
        var a = SeededRNG(seed: 6)
        for _ in 0..<10 { _ = a.next() }
        var b = SeededRNG(stateWords: a.stateWords)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var r = SeededRNG(seed: 1)
        let xs = (0..<200_000).map { _ in r.nextNormal() }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let std = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)).squareRoot()
        #expect(abs(mean) < 0.01 && abs(std - 1) < 0.01)
    }

    @Test("embedding gathers rows; backward scatter-adds repeated ids; bad ids throw")
    func embedding() throws {
        let table: [Double] = [0, 1, 10, 11, 20, 21]  // 3 rows × 2
        let ids: [Int32] = [2, 0, 2]
        var out = [Double](repeating: 0, count: 6)
        try Embedding.forward(ids: ids, table: table, out: &out, count: 3, rows: 3, dim: 2)
        #expect(out == [20, 21, 0, 1, 20, 21])
        var dt = [Double](repeating: 0, count: 6)
        Embedding.backward(ids: ids, dOut: [1, 2, 3, 4, 5, 6], dTable: &dt, count: 3, dim: 2)
        #expect(dt == [3, 4, 0, 0, 6, 8])
        #expect(throws: EmbeddingIndexError.self) {
            try Embedding.forward(ids: [Int32(3)], table: table, out: &out, count: 1, rows: 3, dim: 2)
        }
    }
}
