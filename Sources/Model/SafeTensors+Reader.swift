import Foundation

/// A validated, read-only safetensors file (see `SafeTensors.swift` for the layout).
///
/// `init(path:)` maps the file into memory (one `Data(contentsOf:options: .alwaysMapped)`),
/// parses the JSON header and checks every entry and the layout of the data buffer before
/// returning, so a file that opens is structurally sound: later reads can only fail for a
/// missing name or a dtype the accessor cannot convert. Values are converted on demand;
/// F32 reads are a single copy.
///
/// Files are mapped, not read: do not truncate a file while it is open (replacing it by
/// rename, as `SafeTensorsWriter` does, is safe).
///
///     let st = try SafeTensorsFile(path: "model.safetensors")
///     try st.expectShapes(["embeddings.word_embeddings.weight": [30522, 384], ...])
///     let w = try st.floats("embeddings.word_embeddings.weight")   // 30522 × 384 floats
public struct SafeTensorsFile: Sendable {
    /// Path given to `init(path:)`, or the label given to `init(bytes:label:)`.
    public let path: String
    /// The `__metadata__` object (empty when absent), e.g. `["format": "pt"]`.
    public let metadata: [String: String]
    /// Tensor names, sorted.
    public let names: [String]

    let entries: [String: SafeTensorInfo]
    let bytes: Data
    /// Offset of the data buffer in `bytes`: 8 + header length.
    let dataStart: Int

    /// Opens, maps and validates the file at `path`.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(.io, file: path, "cannot read file: \(error.localizedDescription)")
        }
        try self.init(bytes: data, label: path)
    }

    /// Validates an in-memory safetensors image; `label` stands for the path in errors.
    public init(bytes: Data, label: String) throws {
        let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
        path = label
        guard bytes.count >= 8 else {
            throw SafeTensorsError(.fileTooShort, file: label,
                "file is \(bytes.count) bytes, shorter than the 8-byte header length (not a safetensors file?)")
        }
        let n = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(SafeTensorsHeader.maxLength) else {
            throw SafeTensorsError(.headerLength, file: label,
                "header length \(n) exceeds the \(SafeTensorsHeader.maxLength)-byte limit (not a safetensors file?)")
        }
        guard Int(n) <= bytes.count - 8 else {
            throw SafeTensorsError(.headerLength, file: label,
                "header length \(n) is larger than the \(bytes.count - 8) bytes after the length field (file truncated?)")
        }
        let start = 8 + Int(n)
        let header = try SafeTensorsHeader.parse(bytes.subdata(in: 8..<start),
                                                  bufferSize: bytes.count - start, file: label)
        self.bytes = bytes
        dataStart = start
        entries = header.tensors
        metadata = header.metadata
        names = header.tensors.keys.sorted()
    }

    /// True when the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// Dtype, shape and data offsets of `name`; throws `.missingTensor` (with the closest
    /// name and a few available ones) when the file has no such tensor.
    public func info(_ name: String) throws -> SafeTensorInfo {
        if let info = entries[name] { return info }
        throw SafeTensorsError(.missingTensor, file: path, tensor: name, missingProblem(name))
    }

    /// Calls `body` with the tensor's stored bytes (little-endian, row-major), without copying.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(name)
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)]))
        }
    }

    /// The tensor's elements as `Float`, row-major, `info(name).elementCount` of them.
    /// F32 is copied, F16 and BF16 are widened exactly (subnormals, ±inf, NaN kept), F64 is
    /// rounded to nearest (beyond ±Float.greatestFiniteMagnitude it becomes ±inf).
    /// Integer and other dtypes throw `.wrongDType`.
    public func floats(_ name: String) throws -> [Float] {
        let count = try info(name).elementCount
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readFloats(name, into: buffer)
            initialized = count
        }
    }

    /// Like `floats(_:)`, but converts straight into `destination`, which must hold exactly
    /// `info(name).elementCount` floats (else `.invalidArgument`).
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try info(name)
        guard info.dtype.isReadableAsFloat else {
            throw SafeTensorsError(.wrongDType, file: path, tensor: name,
                "dtype \(info.dtype) cannot be read as floats (float dtypes: F16, BF16, F32, F64)"
                + (info.dtype.isReadableAsInteger ? "; read it with int64s(_:)" : ""))
        }
        let n = info.elementCount
        guard destination.count == n else {
            throw SafeTensorsError(.invalidArgument, file: path, tensor: name,
                "destination holds \(destination.count) floats, tensor has \(n)")
        }
        guard n > 0, let out = destination.baseAddress else { return }
        try withRawBytes(name) { raw in
            let src = raw.baseAddress!
            switch info.dtype {
            case .F32:
                #if _endian(little)
                UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: 4 * n)
                #else
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                #endif
            case .F16: HalfPrecision.widenF16(src, count: n, into: out)
            case .BF16: HalfPrecision.widenBF16(src, count: n, into: out)
            case .F64:
                for i in 0..<n {
                    let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    out[i] = Float(Double(bitPattern: bits))
                }
            default: preconditionFailure("unreachable: \(info.dtype) passed isReadableAsFloat")
            }
        }
    }

    /// The elements of an integer or BOOL tensor as `Int64`, row-major (HF checkpoints store
    /// `position_ids` / `token_type_ids` buffers as I64). U64 values above `Int64.max` and
    /// float dtypes throw (`.invalidArgument` / `.wrongDType`).
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try info(name)
        guard info.dtype.isReadableAsInteger else {
            throw SafeTensorsError(.wrongDType, file: path, tensor: name,
                "dtype \(info.dtype) is not an integer type; read float tensors with floats(_:)")
        }
        let n = info.elementCount
        return try withRawBytes(name) { raw -> [Int64] in
            func load<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
                (0..<n).map { Int64(truncatingIfNeeded: T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * T.bitWidth / 8, as: T.self))) }
            }
            switch info.dtype {
            case .BOOL, .U8: return load(UInt8.self)
            case .I8: return load(Int8.self)
            case .I16: return load(Int16.self)
            case .U16: return load(UInt16.self)
            case .I32: return load(Int32.self)
            case .U32: return load(UInt32.self)
            case .I64: return load(Int64.self)
            case .U64:
                let values = load(Int64.self)
                if let i = values.firstIndex(where: { $0 < 0 }) {
                    throw SafeTensorsError(.invalidArgument, file: path, tensor: name,
                        "U64 element \(i) is \(UInt64(bitPattern: values[i])), beyond Int64.max")
                }
                return values
            default: preconditionFailure("unreachable: \(info.dtype) passed isReadableAsInteger")
            }
        }
    }

    /// Checks the file against the tensors a model expects, name → shape, and throws one
    /// `.shapeMismatch` error listing every missing tensor, every tensor whose shape differs,
    /// and every tensor in the file that is not expected (unless `ignoringUnexpected`
    /// returns true for its name, e.g. `{ $0.hasPrefix("cls.") }` for a pre-training head).
    public func expectShapes(_ expected: [String: [Int]],
                             ignoringUnexpected: (String) -> Bool = { _ in false }) throws {
        var lines: [String] = []
        var (missing, misshaped, unexpected) = (0, 0, 0)
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            guard let info = entries[name] else {
                missing += 1
                lines.append("  missing     \(name)  expected \(shape)")
                continue
            }
            if info.shape != shape {
                misshaped += 1
                lines.append("  mis-shaped  \(name)  file has \(info.shape), expected \(shape)")
            }
        }
        for name in names where expected[name] == nil && !ignoringUnexpected(name) {
            unexpected += 1
            lines.append("  unexpected  \(name)  \(entries[name]!.shape) \(entries[name]!.dtype)")
        }
        guard lines.isEmpty else {
            throw SafeTensorsError(.shapeMismatch, file: path,
                "tensors do not match the model (\(missing) missing, \(misshaped) mis-shaped, \(unexpected) unexpected):\n"
                + lines.joined(separator: "\n"))
        }
    }

    /// "no tensor with this name among the file's N; closest: 'x'; available: a, b, c, …"
    func missingProblem(_ name: String) -> String {
        guard !names.isEmpty else { return "no tensor with this name; the file holds no tensors" }
        let target = Array(name.utf8)
        let closest = names.map { ($0, editDistance(Array($0.utf8), target)) }.min { $0.1 < $1.1 }!.0
        let shown = names.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
        return "no tensor with this name among the file's \(names.count); closest: '\(closest)'; "
            + "available: \(shown)\(names.count > 5 ? ", …" : "")"
    }
}

/// Levenshtein distance between two byte strings (insertions, deletions, substitutions).
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
