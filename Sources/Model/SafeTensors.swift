import Foundation

// The safetensors format (https://github.com/huggingface/safetensors):
//
//   bytes 0..<8        N, the header length, a little-endian UInt64
//   bytes 8..<8+N      the header: UTF-8 JSON object, possibly padded with trailing spaces
//                      {"__metadata__": {String: String}?,          (optional)
//                       "<tensor name>": {"dtype": "F32", "shape": [2, 3],
//                                         "data_offsets": [begin, end]}, ...}
//   bytes 8+N..<end    the data buffer; each tensor's bytes are buffer[begin..<end],
//                      little-endian, row-major (C order)
//
// A valid file's tensors cover the data buffer exactly: sorted by offset they start at 0,
// follow each other without gaps or overlaps, and the last one ends at the end of the file.
// The Rust reference implementation enforces this, and so does `SafeTensorsFile`.

/// An element type of a safetensors tensor, spelled as in the header (`"F32"`, `"BF16"`…).
///
/// Case order is the Rust `safetensors::Dtype` order (increasing alignment); the writer
/// sorts tensors by this order, descending, then by name, as the reference writer does.
public enum SafeTensorsDType: String, CaseIterable, Sendable, Comparable {
    case BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0
    case I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64  // C64: never written here

    /// Bits per element: 4 for `F4`, 6 for the `F6` types, otherwise 8 × the byte size.
    public var bitSize: Int {
        switch self {
        case .F4: return 4
        case .F6_E2M3, .F6_E3M2: return 6
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0: return 8
        case .I16, .U16, .F16, .BF16: return 16
        case .I32, .U32, .F32: return 32
        case .C64, .F64, .I64, .U64: return 64
        }
    }

    /// True for the types `SafeTensorsFile.floats(_:)` converts to `Float`: F16, BF16, F32, F64.
    public var isReadableAsFloat: Bool { [.F16, .BF16, .F32, .F64].contains(self) }

    /// True for the types `SafeTensorsFile.int64s(_:)` reads: BOOL and 8–64-bit integers.
    public var isReadableAsInteger: Bool { [.BOOL, .U8, .I8, .I16, .U16, .I32, .U32, .I64, .U64].contains(self) }

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// One tensor's header entry, validated.
public struct SafeTensorInfo: Sendable, Equatable {
    /// Element type as stored in the file.
    public let dtype: SafeTensorsDType
    /// Dimensions, outermost first; `[]` is a scalar (one element), any 0 means empty.
    public let shape: [Int]
    /// Byte range inside the data buffer (the file minus the 8-byte length and the header).
    public let dataOffsets: Range<Int>

    public init(dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.dtype = dtype; self.shape = shape; self.dataOffsets = dataOffsets
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Any problem reading or writing a safetensors file. `description` always starts with the
/// file path and names the tensor when one is involved, e.g.
/// `model.safetensors: tensor 'pooler.dense.bias': data_offsets [10, 6] end before they begin`.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The check that failed; tests and callers can switch on it instead of parsing text.
    public enum Kind: String, Sendable {
        case io                  // the file could not be opened, read or written
        case fileTooShort        // fewer than 8 bytes
        case headerLength        // N larger than the file, or than the 100 MB limit
        case headerJSON          // header not UTF-8, not JSON, or not a JSON object
        case invalidEntry        // entry missing dtype/shape/data_offsets, or wrong JSON types
        case unknownDType        // dtype string not in `SafeTensorsDType`
        case invalidShape        // negative dimension, or element count overflows
        case invalidOffsets      // data_offsets not [begin, end] with 0 <= begin <= end
        case sizeMismatch        // end - begin != element count × dtype size
        case outOfBounds         // a tensor extends past the end of the file (truncated)
        case overlap             // two tensors share bytes
        case gap                 // bytes of the data buffer belong to no tensor
        case missingTensor       // asked for a name the file does not have
        case wrongDType          // e.g. float data from an integer tensor
        case shapeMismatch       // `expectShapes` found missing / mis-shaped / unexpected tensors
        case invalidArgument     // the writer was given inconsistent tensors
    }

    public let kind: Kind
    /// Path of the file (or the label given for in-memory bytes).
    public let file: String
    /// The tensor involved, if any.
    public let tensor: String?
    /// Human-readable explanation, without the file and tensor prefix.
    public let problem: String

    public init(_ kind: Kind, file: String, tensor: String? = nil, _ problem: String) {
        self.kind = kind; self.file = file; self.tensor = tensor; self.problem = problem
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(problem)" }
        return "\(file): \(problem)"
    }
}

/// Header parsing and validation shared by the reader (and exercised by the writer's tests).
enum SafeTensorsHeader {
    /// Largest header accepted, as in the Rust implementation (100 MB).
    static let maxLength = 100_000_000

    /// The parsed header: metadata and validated entries keyed by tensor name.
    struct Parsed {
        var metadata: [String: String]
        var tensors: [String: SafeTensorInfo]
    }

    /// Parses the JSON header `json` and validates every entry against a data buffer of
    /// `bufferSize` bytes. Throws `SafeTensorsError` naming `file` on any problem.
    static func parse(_ json: Data, bufferSize: Int, file: String) throws -> Parsed {
        guard String(data: json, encoding: .utf8) != nil else {
            throw SafeTensorsError(.headerJSON, file: file, "header is not valid UTF-8")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let error as SafeTensorsError {
            throw SafeTensorsError(error.kind, file: file, tensor: error.tensor, error.problem)
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw SafeTensorsError(.headerJSON, file: file, "header is JSON but not a JSON object")
        } catch {
            throw SafeTensorsError(.headerJSON, file: file, "header is not valid JSON (\(describe(error)))")
        }
        var tensors: [String: SafeTensorInfo] = [:]
        for entry in raw.entries {
            tensors[entry.name] = try validate(entry, file: file)
        }
        try checkCoverage(tensors, bufferSize: bufferSize, file: file)
        return Parsed(metadata: raw.metadata, tensors: tensors)
    }

    /// Per-entry checks: dtype known, dimensions non-negative, offsets ordered, byte size right.
    static func validate(_ e: RawEntry, file: String) throws -> SafeTensorInfo {
        func fail(_ kind: SafeTensorsError.Kind, _ problem: String) -> SafeTensorsError {
            SafeTensorsError(kind, file: file, tensor: e.name, problem)
        }
        guard let dtype = SafeTensorsDType(rawValue: e.dtype) else {
            let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(.unknownDType, "unknown dtype \"\(e.dtype)\" (known: \(known))")
        }
        if let d = e.shape.first(where: { $0 < 0 }) {
            throw fail(.invalidShape, "negative dimension \(d) in shape \(e.shape)")
        }
        var bits = dtype.bitSize
        for d in e.shape {
            let (product, overflow) = bits.multipliedReportingOverflow(by: d)
            if overflow { throw fail(.invalidShape, "shape \(e.shape) of \(dtype) overflows the byte count") }
            bits = product
        }
        guard e.offsets.count == 2 else {
            throw fail(.invalidOffsets, "data_offsets must be [begin, end], got \(e.offsets)")
        }
        let (begin, end) = (e.offsets[0], e.offsets[1])
        if begin < 0 || end < 0 { throw fail(.invalidOffsets, "negative data_offsets \(e.offsets)") }
        if end < begin { throw fail(.invalidOffsets, "data_offsets \(e.offsets) end before they begin") }
        guard bits % 8 == 0 else {
            throw fail(.sizeMismatch, "shape \(e.shape) of \(dtype) is \(bits) bits, not a whole number of bytes")
        }
        if end - begin != bits / 8 {
            throw fail(.sizeMismatch, "data_offsets \(e.offsets) hold \(end - begin) bytes, but shape \(e.shape) of \(dtype) needs \(bits / 8)")
        }
        return SafeTensorInfo(dtype: dtype, shape: e.shape, dataOffsets: begin..<end)
    }

    /// The tensors, sorted by offset, must tile `0..<bufferSize` exactly.
    static func checkCoverage(_ tensors: [String: SafeTensorInfo], bufferSize: Int, file: String) throws {
        let sorted = tensors.sorted {
            ($0.value.dataOffsets.lowerBound, $0.value.dataOffsets.upperBound, $0.key)
                < ($1.value.dataOffsets.lowerBound, $1.value.dataOffsets.upperBound, $1.key)
        }
        for (name, info) in sorted where info.dataOffsets.upperBound > bufferSize {
            throw SafeTensorsError(.outOfBounds, file: file, tensor: name,
                "data_offsets [\(info.dataOffsets.lowerBound), \(info.dataOffsets.upperBound)] extend past the end of the \(bufferSize)-byte data buffer (file truncated?)")
        }
        var cursor = 0
        var previous: (name: String, range: Range<Int>)?
        for (name, info) in sorted {
            let r = info.dataOffsets
            if r.lowerBound < cursor, let p = previous {
                throw SafeTensorsError(.overlap, file: file, tensor: name,
                    "data_offsets [\(r.lowerBound), \(r.upperBound)] overlap tensor '\(p.name)' at [\(p.range.lowerBound), \(p.range.upperBound)]")
            }
            if r.lowerBound > cursor {
                throw SafeTensorsError(.gap, file: file, tensor: name,
                    "bytes [\(cursor), \(r.lowerBound)] of the data buffer before this tensor belong to no tensor")
            }
            cursor = r.upperBound
            previous = (name, r)
        }
        if cursor != bufferSize {
            throw SafeTensorsError(.gap, file: file,
                "bytes [\(cursor), \(bufferSize)] at the end of the data buffer belong to no tensor (trailing garbage?)")
        }
    }

    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .dataCorrupted(let c): return (c.underlyingError.map { "\($0)" } ?? c.debugDescription)
        case .keyNotFound(let k, _): return "missing \"\(k.stringValue)\""
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return "expected \(t) at \(path.isEmpty ? "top level" : path)"
        @unknown default: return "\(e)"
        }
    }
}

/// One header entry as written, before validation.
struct RawEntry {
    let name: String
    let dtype: String
    let shape: [Int]
    let offsets: [Int]
}

/// The header JSON decoded with exact JSON types (strings, integer arrays); errors name the
/// entry. The file path is filled in by `SafeTensorsHeader.parse`.
struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [RawEntry] = []

    struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue s: String) { stringValue = s }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            let name = key.stringValue
            if name == "__metadata__" {
                if try c.decodeNil(forKey: key) { continue }
                do { metadata = try c.decode([String: String].self, forKey: key) } catch {
                    throw SafeTensorsError(.invalidEntry, file: "", tensor: nil,
                        "__metadata__ must be an object whose values are all strings")
                }
                continue
            }
            func fail(_ problem: String) -> SafeTensorsError {
                SafeTensorsError(.invalidEntry, file: "", tensor: name, problem)
            }
            guard let e = try? c.nestedContainer(keyedBy: Key.self, forKey: key) else {
                throw fail("entry must be a JSON object with \"dtype\", \"shape\" and \"data_offsets\"")
            }
            func field<T: Decodable>(_ field: String, _ type: T.Type, _ expected: String) throws -> T {
                guard e.contains(Key(field)) else { throw fail("missing \"\(field)\"") }
                do { return try e.decode(T.self, forKey: Key(field)) } catch {
                    throw fail("\"\(field)\" must be \(expected)")
                }
            }
            entries.append(RawEntry(
                name: name,
                dtype: try field("dtype", String.self, "a string"),
                shape: try field("shape", [Int].self, "an array of integers"),
                offsets: try field("data_offsets", [Int].self, "an array of two integers")))
        }
    }
}
