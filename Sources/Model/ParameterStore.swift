import TensorCore

/// Where one named parameter lives: in the frozen buffer or in the trainable one.
public struct ParamRef: Sendable, Equatable {
    public let trainable: Bool
    /// Offset in elements into its buffer.
    public let offset: Int
    /// Number of elements.
    public let count: Int
}

/// Every parameter of a model, by Hugging Face-style name, in two contiguous buffers:
/// `frozen` (never updated, never communicated) and `trainable` with its same-sized
/// `gradients`. One allreduce of `gradients` covers every trainable tensor (adapters and
/// head), and the optimizer updates `trainable` as one flat vector.
///
/// Built in two phases: `register` every tensor (the layout is then fixed and identical on
/// every rank), `allocate()`, then fill values (load or initialise).
public final class ParameterStore {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let ref: ParamRef
    }

    /// Tensors in registration order.
    public private(set) var entries: [Entry] = []
    private var byName: [String: Int] = [:]
    private var frozenCount = 0
    private var trainableCount = 0

    public private(set) var frozen = Buffer<Float>(count: 0)
    public private(set) var trainable = Buffer<Float>(count: 0)
    public private(set) var gradients = Buffer<Float>(count: 0)
    public private(set) var isAllocated = false

    public init() {}

    /// Adds a tensor; returns where it will live. Names must be unique.
    @discardableResult
    public func register(_ name: String, shape: [Int], trainable: Bool) -> ParamRef {
        precondition(!isAllocated, "register \(name) after allocate()")
        precondition(byName[name] == nil, "parameter \(name) registered twice")
        let n = shape.reduce(1, *)
        let ref = ParamRef(trainable: trainable, offset: trainable ? trainableCount : frozenCount, count: n)
        if trainable { trainableCount += n } else { frozenCount += n }
        byName[name] = entries.count
        entries.append(Entry(name: name, shape: shape, ref: ref))
        return ref
    }

    /// Allocates the buffers (zeroed).
    public func allocate() {
        precondition(!isAllocated, "allocate() called twice")
        frozen = Buffer(count: frozenCount)
        trainable = Buffer(count: trainableCount)
        gradients = Buffer(count: trainableCount)
        isAllocated = true
    }

    /// Makes room for `count` floats after the gradients in the same buffer (the gradients are
    /// zeroed if it grows): a caller that communicates gradients can put per-step values there
    /// so that one allreduce carries both (`TrainingStep` puts the loss and token count).
    public func reserveExtraGradientSlots(_ count: Int) {
        precondition(isAllocated, "reserve slots after allocate()")
        if gradients.count < trainableCount + count { gradients = Buffer(count: trainableCount + count) }
    }

    /// Pointer to the extra gradient slots (after the last trainable gradient).
    public var extraSlots: UnsafeMutablePointer<Float> { gradients.pointer + trainableCount }

    /// Number of trainable scalars (the allreduce payload is 4× this in bytes).
    public var trainableParameterCount: Int { trainableCount }
    public var frozenParameterCount: Int { frozenCount }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// Pointer to a parameter's values.
    @inline(__always)
    public func values(_ ref: ParamRef) -> UnsafeMutablePointer<Float> {
        (ref.trainable ? trainable.pointer : frozen.pointer) + ref.offset
    }

    /// Pointer to a parameter's gradient, or nil for a frozen one (no gradient is computed).
    @inline(__always)
    public func gradient(_ ref: ParamRef) -> UnsafeMutablePointer<Float>? {
        ref.trainable ? gradients.pointer + ref.offset : nil
    }

    /// Copies `values` into a named parameter (sizes must match).
    public func set(_ name: String, _ values: [Float]) {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        precondition(values.count == e.ref.count, "\(name): \(values.count) values for \(e.ref.count) elements")
        values.withUnsafeBufferPointer { self.values(e.ref).update(from: $0.baseAddress!, count: e.ref.count) }
    }

    /// A copy of a named parameter's values.
    public func get(_ name: String) -> [Float] {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        return Array(UnsafeBufferPointer(start: values(e.ref), count: e.ref.count))
    }

    /// A copy of a named parameter's gradient (trainable parameters only).
    public func getGradient(_ name: String) -> [Float]? {
        guard let e = entry(name), let g = gradient(e.ref) else { return nil }
        return Array(UnsafeBufferPointer(start: g, count: e.ref.count))
    }

    /// Names of the trainable tensors, in layout order.
    public var trainableNames: [String] { entries.filter(\.ref.trainable).map(\.name) }
}
