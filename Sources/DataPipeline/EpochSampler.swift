import TensorCore

/// Decides which examples each rank sees in each step of an epoch (docs/DESIGN.md §5).
///
/// Every rank computes the same plan from `(seed, epoch)` and the example lengths, with no
/// communication, then keeps its own part:
///
/// 1. a global permutation of the `n` examples (Fisher–Yates, `SeededRNG(seed, stream: epoch)`);
///    without shuffling, the identity;
/// 2. filled up to `steps · B` entries, `B = perRankBatch · worldSize · accumulation` the global
///    batch, by wrapping around (`fill: .repeat`, as PyTorch's DistributedSampler) or with filler
///    rows marked invalid (`fill: .mask`, for evaluation, so every example counts exactly once);
/// 3. length bucketing: windows of `bucketWindow` global batches are sorted by length and cut
///    into global batches, whose order is then shuffled — batches hold similar lengths, so
///    dynamic padding wastes little;
/// 4. global batch `g` is cut into `accumulation · worldSize` micro-batches of `perRankBatch`;
///    micro-step `i` of rank `r` is piece `i · worldSize + r`.
///
/// Bucketing is done on global batches rather than inside each rank's slice, so the plan does
/// not depend on how a global batch is split: np=1 with batch 2b and np=2 with batch b see the
/// same examples in every optimizer step (the equivalence docs/DESIGN.md §5 asks for), and every
/// rank runs the same number of steps.
public struct EpochSampler: Sendable {
    public enum Fill: Sendable { case `repeat`, mask }

    public let lengths: [Int]
    public let perRankBatch: Int
    public let worldSize: Int
    public let rank: Int
    public let accumulation: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let bucketWindow: Int
    public let fill: Fill

    public init(lengths: [Int], perRankBatch: Int, worldSize: Int = 1, rank: Int = 0, accumulation: Int = 1,
                seed: UInt64, shuffle: Bool = true, bucketWindow: Int = 50, fill: Fill = .repeat) {
        precondition(perRankBatch > 0 && worldSize > 0 && accumulation > 0, "batch, world size and accumulation must be positive")
        precondition(rank >= 0 && rank < worldSize, "rank \(rank) outside 0..<\(worldSize)")
        self.lengths = lengths; self.perRankBatch = perRankBatch; self.worldSize = worldSize; self.rank = rank
        self.accumulation = accumulation; self.seed = seed; self.shuffle = shuffle
        self.bucketWindow = max(1, bucketWindow); self.fill = fill
    }

    /// Examples per optimizer step across all ranks.
    public var globalBatch: Int { perRankBatch * worldSize * accumulation }
    /// Optimizer steps per epoch (the last one filled up); 0 for an empty dataset.
    public var stepsPerEpoch: Int { (lengths.count + globalBatch - 1) / globalBatch }

    /// One micro-batch for this rank: example indices and which rows count.
    public struct Plan: Sendable, Equatable {
        public var indices: [Int]
        public var valid: [Bool]
    }

    /// This rank's micro-batches for `epoch`, in order: `stepsPerEpoch · accumulation` plans.
    public func plans(epoch: Int) -> [Plan] {
        let n = lengths.count
        if n == 0 { return [] }
        var order = Array(0..<n)
        var rng = SeededRNG(seed: seed, stream: UInt64(epoch) &+ 1)
        if shuffle {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        let B = globalBatch, total = stepsPerEpoch * B
        var entries = order.map { ($0, true) }
        var k = 0
        while entries.count < total { entries.append((order[k % n], fill == .repeat)); k += 1 }

        if bucketWindow > 1 {
            let window = bucketWindow * B
            var start = 0
            while start < total {
                let end = min(total, start + window)
                // Stable sort by length (ties keep permutation order); fillers of masked runs last.
                let sorted = entries[start..<end].enumerated().sorted {
                    let a = $0.element, b = $1.element
                    if a.1 != b.1 { return a.1 }
                    let la = lengths[a.0], lb = lengths[b.0]
                    return la != lb ? la < lb : $0.offset < $1.offset
                }.map(\.element)
                entries.replaceSubrange(start..<end, with: sorted)
                start = end
            }
        }

        var batchOrder = Array(0..<stepsPerEpoch)
        if shuffle && bucketWindow > 1 {
            for i in stride(from: batchOrder.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                batchOrder.swapAt(i, j)
            }
        }

        var out: [Plan] = []
        out.reserveCapacity(stepsPerEpoch * accumulation)
        for g in batchOrder {
            for i in 0..<accumulation {
                let piece = i * worldSize + rank
                let lo = g * B + piece * perRankBatch
                let slice = entries[lo..<lo + perRankBatch]
                out.append(Plan(indices: slice.map(\.0), valid: slice.map(\.1)))
            }
        }
        return out
    }
}
