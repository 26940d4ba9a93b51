/// A fixed-address, manually allocated array of scalars for model parameters, gradients
/// and activations: its pointer is stable for its lifetime (no copy-on-write, no
/// exclusivity checks in hot loops). Zero-initialised; freed on deinit.
public final class Buffer<Scalar: TensorScalar>: @unchecked Sendable {
    /// Number of elements.
    public private(set) var count: Int
    /// Start of the storage (valid for `count` elements).
    public private(set) var pointer: UnsafeMutablePointer<Scalar>

    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        Self.zeroBytes(pointer, max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// Grows the buffer to at least `count` elements (contents are discarded and zeroed).
    /// Never shrinks, and grows by at least half its size, so a stream of batches of slowly
    /// rising length reallocates a logarithmic number of times, not once per batch.
    public func ensureCapacity(_ newCount: Int) {
        if newCount <= count { return }
        let grown = max(newCount, count + count / 2)
        pointer.deallocate()
        pointer = .allocate(capacity: grown)
        Self.zeroBytes(pointer, grown)
        count = grown
    }

    /// Sets every element to zero.
    public func zero() { Self.zeroBytes(pointer, count) }

    /// Zeroes `n` scalars with one memset (every `TensorScalar` is an IEEE type whose zero is
    /// all-zero bits); the generic `initialize(repeating:)` would copy element by element
    /// through value witnesses when this class is used unspecialised from another module.
    static func zeroBytes(_ p: UnsafeMutablePointer<Scalar>, _ n: Int) {
        UnsafeMutableRawPointer(p).initializeMemory(as: UInt8.self, repeating: 0, count: n * MemoryLayout<Scalar>.stride)
    }

    /// The elements as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Scalar> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// A copy of the elements.
    public var array: [Scalar] { Array(buffer) }

    /// `self[i]`, bounds-checked in debug builds.
    public subscript(i: Int) -> Scalar {
        get { assert(i >= 0 && i < count); return pointer[i] }
        set { assert(i >= 0 && i < count); pointer[i] = newValue }
    }
}
