import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files the way the reference (Rust / Python `safetensors`) writer does,
/// so `safetensors.torch.load_file` / `safe_open` read them back and, for the same tensors
/// and at most one metadata key, `save_file` would produce the same bytes:
///
/// * tensors are laid out sorted by dtype, descending in `SafeTensorsDType` order
///   (I64 before F64, F32, I32, BF16, F16), then by name (byte order);
/// * the header is compact JSON — `__metadata__` first (keys sorted; omitted when empty),
///   then the tensors in layout order — padded with spaces to a multiple of 8 bytes so
///   every tensor starts 8-byte aligned;
/// * F16 and BF16 are rounded from `Float` to nearest, ties to even (as `torch.Tensor.to`).
///
/// Writing is atomic: the file is written under a temporary name in the destination's
/// directory, fsynced and renamed over `path`. Every argument is checked before anything
/// is created; on any error the temporary file is removed and an existing file at `path`
/// is left untouched. The new file gets mode 0644 (less the umask), not the old file's mode.
public enum SafeTensorsWriter {
    /// One tensor to write: row-major values and the dtype to store them as.
    public struct Tensor: Sendable {
        enum Values: Sendable { case floats([Float]), ints([Int64]) }
        public let name: String
        /// Dimensions, outermost first; `[]` is a scalar. Element count must equal the values' count.
        public let shape: [Int]
        /// Stored dtype: F32, F16, BF16 or F64 for float values; I64 or I32 for integers.
        public let dtype: SafeTensorsDType
        let values: Values

        /// Float values stored as `dtype` (F32, F16, BF16 or F64).
        public init(name: String, shape: [Int], floats: [Float], dtype: SafeTensorsDType = .F32) {
            self.name = name; self.shape = shape; self.dtype = dtype; values = .floats(floats)
        }

        /// Integer values stored as `dtype` (I64, or I32 when every value fits).
        public init(name: String, shape: [Int], int64s: [Int64], dtype: SafeTensorsDType = .I64) {
            self.name = name; self.shape = shape; self.dtype = dtype; values = .ints(int64s)
        }

        var count: Int {
            switch values { case .floats(let v): return v.count; case .ints(let v): return v.count }
        }
        var byteCount: Int { count * dtype.bitSize / 8 }
    }

    /// Writes float tensors, all stored as `dtype` (F32 by default; F16/BF16 round to nearest even).
    public static func write(tensors: [(name: String, shape: [Int], data: [Float])],
                             metadata: [String: String] = [:], dtype: SafeTensorsDType = .F32,
                             to path: String) throws {
        try write(tensors.map { Tensor(name: $0.name, shape: $0.shape, floats: $0.data, dtype: dtype) },
                  metadata: metadata, to: path)
    }

    /// Writes `tensors` and `metadata` to `path` atomically (see the type's documentation).
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        let (header, ordered) = try layout(tensors, metadata: metadata, file: path)
        let target = URL(fileURLWithPath: path)
        let directory = target.deletingLastPathComponent().path
        let temporary = directory + "/." + target.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func ioError(_ what: String) -> SafeTensorsError {
            SafeTensorsError(.io, file: path, "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError("cannot create temporary file \(temporary)") }
        var isOpen = true
        do {
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try writeAll(fd, $0, path) }
            try header.withUnsafeBytes { try writeAll(fd, $0, path) }
            for t in ordered { try encode(t) { try writeAll(fd, $0, path) } }
            guard fsync(fd) == 0 else { throw ioError("fsync failed") }
            isOpen = false
            guard close(fd) == 0 else { throw ioError("close failed") }
            guard rename(temporary, path) == 0 else { throw ioError("cannot rename \(temporary) to the target") }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable; failure here cannot corrupt either file.
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    /// The complete file image in memory (for small files and tests).
    public static func serialize(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        let (header, ordered) = try layout(tensors, metadata: metadata, file: "<memory>")
        var out = Data(capacity: 8 + header.count + ordered.reduce(0) { $0 + $1.byteCount })
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for t in ordered { try encode(t) { out.append(contentsOf: $0) } }
        return out
    }

    /// Validates the tensors and returns the padded header bytes and the tensors in file order.
    static func layout(_ tensors: [Tensor], metadata: [String: String], file: String) throws -> ([UInt8], [Tensor]) {
        var seen = Set<String>()
        for t in tensors {
            func fail(_ problem: String) -> SafeTensorsError {
                SafeTensorsError(.invalidArgument, file: file, tensor: t.name, problem)
            }
            guard t.name != "__metadata__" else { throw fail("\"__metadata__\" is reserved and cannot name a tensor") }
            guard seen.insert(t.name).inserted else { throw fail("name given twice") }
            switch t.values {
            case .floats: guard [.F32, .F16, .BF16, .F64].contains(t.dtype) else { throw fail("float values cannot be stored as \(t.dtype)") }
            case .ints(let v):
                guard t.dtype == .I64 || t.dtype == .I32 else { throw fail("integer values cannot be stored as \(t.dtype)") }
                if t.dtype == .I32, let bad = v.first(where: { Int32(exactly: $0) == nil }) {
                    throw fail("value \(bad) does not fit in I32")
                }
            }
            if let d = t.shape.first(where: { $0 < 0 }) { throw fail("negative dimension \(d) in shape \(t.shape)") }
            var elements = 1
            for d in t.shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("shape \(t.shape) overflows") }
                elements = p
            }
            guard elements == t.count else { throw fail("shape \(t.shape) has \(elements) elements but \(t.count) values were given") }
        }
        let ordered = tensors.sorted { a, b in
            a.dtype != b.dtype ? a.dtype > b.dtype : Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var json = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            fields.append("\"__metadata__\":{" + pairs.map { jsonString($0.key) + ":" + jsonString($0.value) }.joined(separator: ",") + "}")
        }
        var offset = 0
        for t in ordered {
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append(jsonString(t.name) + ":{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}")
            offset += t.byteCount
        }
        json += fields.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        return (header, ordered)
    }

    /// Passes the tensor's little-endian bytes to `sink` (F32 on little-endian hosts without copying).
    static func encode(_ t: Tensor, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch (t.values, t.dtype) {
        case (.floats(let v), .F32):
            #if _endian(little)
            try v.withUnsafeBytes(sink)
            #else
            try v.map { $0.bitPattern.littleEndian }.withUnsafeBytes(sink)
            #endif
        case (.floats(let v), .F16):
            var out = [UInt8](repeating: 0, count: 2 * v.count)
            v.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { HalfPrecision.f16Bytes(src, into: $0.baseAddress!) } }
            try out.withUnsafeBytes(sink)
        case (.floats(let v), .BF16):
            var out = [UInt8](repeating: 0, count: 2 * v.count)
            v.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { HalfPrecision.bf16Bytes(src, into: $0.baseAddress!) } }
            try out.withUnsafeBytes(sink)
        case (.floats(let v), .F64):
            try v.map { Double($0).bitPattern.littleEndian }.withUnsafeBytes(sink)
        case (.ints(let v), .I64):
            try v.map { $0.littleEndian }.withUnsafeBytes(sink)
        case (.ints(let v), .I32):
            try v.map { Int32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes(sink)
        default:
            preconditionFailure("layout(_:) accepted \(t.dtype) for \(t.name)")
        }
    }

    /// `s` as a JSON string literal, escaped exactly as serde_json does (", \, \b \f \n \r \t,
    /// other control characters as \u00XX with lowercase hex; everything else as raw UTF-8).
    static func jsonString(_ s: String) -> String {
        var out = [UInt8(ascii: "\"")]
        let hex = Array("0123456789abcdef".utf8)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [92, byte]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x08: out += [92, UInt8(ascii: "b")]
            case 0x0C: out += [92, UInt8(ascii: "f")]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.io, file: path, "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}

/// The POSIX `write(2)`, reachable under another name inside `SafeTensorsWriter`, whose
/// own `write` methods shadow it.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
