import Testing
@testable import DataPipeline

@Suite("Epoch sampler")
struct EpochSamplerTests {
    let lengths = (0..<103).map { ($0 * 37) % 50 + 3 }

    @Test("every rank gets the same number of batches; together they cover every example each epoch",
          arguments: [1, 2, 3, 4])
    func coverage(world: Int) {
        let per = 4
        let plans = (0..<world).map {
            EpochSampler(lengths: lengths, perRankBatch: per, worldSize: world, rank: $0, seed: 6).plans(epoch: 2)
        }
        let steps = (103 + per * world - 1) / (per * world)
        #expect(plans.allSatisfy { $0.count == steps && $0.allSatisfy { $0.indices.count == per } })
        let seen = Set(plans.flatMap { $0.flatMap(\.indices) })
        #expect(seen == Set(0..<103))
    }

    @Test("the permutation depends on (seed, epoch) only, and changes with the epoch")
    func determinism() {
        let a = EpochSampler(lengths: lengths, perRankBatch: 8, seed: 6)
        #expect(a.plans(epoch: 0) == a.plans(epoch: 0))
        #expect(a.plans(epoch: 0) != a.plans(epoch: 1))
        #expect(a.plans(epoch: 0) != EpochSampler(lengths: lengths, perRankBatch: 8, seed: 7).plans(epoch: 0))
    }

    @Test("np=1 with batch 2b and np=2 with batch b see the same examples in every optimizer step")
    func worldSizeEquivalence() {
        let one = EpochSampler(lengths: lengths, perRankBatch: 8, worldSize: 1, rank: 0, seed: 6).plans(epoch: 3)
        let r0 = EpochSampler(lengths: lengths, perRankBatch: 4, worldSize: 2, rank: 0, seed: 6).plans(epoch: 3)
        let r1 = EpochSampler(lengths: lengths, perRankBatch: 4, worldSize: 2, rank: 1, seed: 6).plans(epoch: 3)
        #expect(one.count == r0.count)
        for s in one.indices { #expect(one[s].indices == r0[s].indices + r1[s].indices) }
        // Accumulation: np=1, batch 4, 2 micro-steps covers the same global batches too.
        let acc = EpochSampler(lengths: lengths, perRankBatch: 4, worldSize: 1, rank: 0, accumulation: 2, seed: 6).plans(epoch: 3)
        for s in one.indices { #expect(one[s].indices == acc[2 * s].indices + acc[2 * s + 1].indices) }
    }

    @Test("length bucketing cuts padding compared with random batches")
    func bucketing() {
        func padded(_ window: Int) -> Int {
            EpochSampler(lengths: lengths, perRankBatch: 8, seed: 6, bucketWindow: window).plans(epoch: 0).reduce(0) { acc, p in
                acc + (p.indices.map { lengths[$0] }.max()! * p.indices.count)
            }
        }
        let real = lengths.reduce(0, +)
        #expect(padded(50) < padded(1))
        #expect(Double(padded(50)) < 1.15 * Double(real + 8 * 60))  // near the real token count
    }

    @Test("evaluation fill masks filler rows so each example counts once")
    func evalMask() {
        let plans = (0..<2).map {
            EpochSampler(lengths: Array(lengths.prefix(10)), perRankBatch: 4, worldSize: 2, rank: $0, seed: 0,
                         shuffle: false, fill: .mask).plans(epoch: 0)
        }
        let counted = plans.flatMap { $0.flatMap { zip($0.indices, $0.valid).filter(\.1).map(\.0) } }
        #expect(counted.sorted() == Array(0..<10))
        #expect(plans.flatMap { $0.flatMap(\.valid) }.filter { !$0 }.count == 6)
    }
}
