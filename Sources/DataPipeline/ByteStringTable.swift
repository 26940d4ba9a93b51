import Foundation

/// An open-addressing hash map from byte strings to values, used for vocabularies
/// (token bytes → id) and for the per-session word caches.
///
/// Keys live back to back in one byte arena, so a lookup takes a borrowed
/// `UnsafeBufferPointer<UInt8>` (a slice of the text being tokenized) and never builds
/// a `String`. Comparison is byte-wise: two keys are equal only if their UTF-8 bytes are,
/// unlike `String`, which compares canonically equivalent strings as equal.
struct ByteStringTable<Value> {
    private var arena: [UInt8] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var hashes: [UInt64] = []
    private(set) var values: [Value] = []
    /// -1 = empty, otherwise an entry index. Capacity is a power of two, at most half full.
    private var slots: [Int32]
    private var mask: Int

    var count: Int { values.count }
    var arenaBytes: Int { arena.count }

    init(minimumCapacity: Int = 16) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
    }

    /// A fast 64-bit hash of a short byte string (8 bytes per step).
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = key.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
        guard n > 0, let base = key.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
        }
        h = (h ^ (h >> 29)) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 32)
    }

    /// Entry index of `key`, or nil.
    @inline(__always)
    func entry(for key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int? {
        var slot = Int(truncatingIfNeeded: h >> 32) & mask
        return slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                keyLength.withUnsafeBufferPointer { lengths in
                    while true {
                        let e = Int(slots[slot])
                        if e < 0 { return nil }
                        if hashes[e] == h && Int(lengths[e]) == key.count && keyEquals(e, key) { return e }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    private func keyEquals(_ e: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        if key.isEmpty { return true }
        let start = Int(keyStart[e])
        return arena.withUnsafeBufferPointer { arena in
            memcmp(arena.baseAddress! + start, key.baseAddress!, key.count) == 0
        }
    }

    @inline(__always)
    func value(for key: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let e = entry(for: key, hash: Self.hash(key)) else { return nil }
        return values[e]
    }

    func value(for key: [UInt8]) -> Value? {
        key.withUnsafeBufferPointer { value(for: $0) }
    }

    /// Inserts `key` → `value`. If the key is already present its value is replaced
    /// (later entries win, as in a vocabulary file with a repeated line).
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, value: Value) {
        let h = Self.hash(key)
        if let e = entry(for: key, hash: h) {
            values[e] = value
            return
        }
        if (values.count + 1) * 2 > slots.count { grow() }
        let e = values.count
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(key.count))
        hashes.append(h)
        arena.append(contentsOf: key)
        values.append(value)
        place(entry: e, hash: h)
    }

    mutating func insert(_ key: [UInt8], value: Value) {
        key.withUnsafeBufferPointer { insert($0, value: value) }
    }

    /// Removes every entry but keeps the allocated storage.
    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        keyStart.removeAll(keepingCapacity: true)
        keyLength.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }

    /// Calls `body` with every key (as bytes) and its value, in insertion order.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Value) -> Void) {
        arena.withUnsafeBufferPointer { arena in
            for e in values.indices {
                let key = UnsafeBufferPointer(rebasing: arena[Int(keyStart[e])..<Int(keyStart[e] + keyLength[e])])
                body(key, values[e])
            }
        }
    }

    private mutating func place(entry e: Int, hash h: UInt64) {
        var slot = Int(truncatingIfNeeded: h >> 32) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(e)
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for e in values.indices { place(entry: e, hash: hashes[e]) }
    }
}

extension ByteStringTable: Sendable where Value: Sendable {}
