import Foundation
import Crypto

/// SHA-256 hex digests (swift-crypto's implementation). Used to fingerprint source files,
/// tokenizer files and base weights in dataset, adapter and checkpoint attributes, so readers
/// can refuse a mismatch. Checked against NIST vectors and Python's hashlib in the tests.
public enum SHA256 {
    /// Hex digest of `bytes`.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        hexString(Crypto.SHA256.hash(data: Array(bytes)))
    }

    /// Hex digest of a file, read in 4 MiB blocks.
    public static func hex(file path: String) throws -> String {
        guard let fh = FileHandle(forReadingAtPath: path) else {
            throw DataError(file: path, line: 0, problem: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        defer { try? fh.close() }
        var h = Crypto.SHA256()
        while let chunk = try fh.read(upToCount: 4 << 20), !chunk.isEmpty { h.update(data: chunk) }
        return hexString(h.finalize())
    }

    static func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
