/// A minimal reader of the protobuf wire format: just enough to decode SentencePiece's
/// `ModelProto` (spm.model) without generated code. Every read is bounds-checked; malformed
/// input throws a `ProtobufError` that says what was wrong and at which byte offset.
struct ProtobufReader {
    enum WireType: UInt8, CustomStringConvertible {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5

        var description: String {
            switch self {
            case .varint: return "varint"
            case .fixed64: return "64-bit"
            case .lengthDelimited: return "length-delimited"
            case .startGroup: return "start-group"
            case .endGroup: return "end-group"
            case .fixed32: return "32-bit"
            }
        }
    }

    private let bytes: [UInt8]
    /// Absolute offset of the next byte to read.
    private(set) var offset: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    private init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { offset >= end }

    mutating func readVarint() throws(ProtobufError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .truncated(what: "varint", offset: start) }
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw .malformedVarint(offset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .malformedVarint(offset: start) }
        }
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func readTag() throws(ProtobufError) -> (field: UInt32, wireType: WireType)? {
        if isAtEnd { return nil }
        let start = offset
        let key = try readVarint()
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw .unsupportedWireType(Int(key & 7), offset: start)
        }
        let field = key >> 3
        guard field >= 1, field <= 0x1FFF_FFFF else { throw .invalidFieldNumber(Int(clamping: field), offset: start) }
        return (UInt32(field), wireType)
    }

    /// The bytes of a length-delimited field (after its tag).
    mutating func readLengthDelimited() throws(ProtobufError) -> ArraySlice<UInt8> {
        let start = offset
        let length = try readVarint()
        guard length <= UInt64(end - offset) else {
            throw .truncated(what: "length-delimited field of \(length) bytes", offset: start)
        }
        let slice = bytes[offset..<(offset + Int(length))]
        offset += Int(length)
        return slice
    }

    /// A reader over an embedded message (a length-delimited field).
    mutating func readMessage() throws(ProtobufError) -> ProtobufReader {
        let slice = try readLengthDelimited()
        return ProtobufReader(bytes, range: slice.startIndex..<slice.endIndex)
    }

    mutating func readFixed32() throws(ProtobufError) -> UInt32 {
        guard end - offset >= 4 else { throw .truncated(what: "32-bit field", offset: offset) }
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(bytes[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return value
    }

    /// Skips the value of a field with the given wire type.
    mutating func skip(_ wireType: WireType) throws(ProtobufError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard end - offset >= 8 else { throw .truncated(what: "64-bit field", offset: offset) }
            offset += 8
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: _ = try readFixed32()
        case .startGroup, .endGroup: throw .unsupportedWireType(Int(wireType.rawValue), offset: offset)
        }
    }

    // Typed reads that check the wire type of the field first.

    static func require(_ wireType: WireType, _ expected: WireType, field: String, offset: Int) throws(ProtobufError) {
        guard wireType == expected else {
            throw .wrongWireType(field: field, expected: expected.description, got: wireType.description, offset: offset)
        }
    }

    mutating func string(_ wireType: WireType, field: String) throws(ProtobufError) -> String {
        try Self.require(wireType, .lengthDelimited, field: field, offset: offset)
        let start = offset
        let slice = try readLengthDelimited()
        guard let string = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(field: field, offset: start) }
        return string
    }

    mutating func bytesField(_ wireType: WireType, field: String) throws(ProtobufError) -> [UInt8] {
        try Self.require(wireType, .lengthDelimited, field: field, offset: offset)
        return Array(try readLengthDelimited())
    }

    mutating func message(_ wireType: WireType, field: String) throws(ProtobufError) -> ProtobufReader {
        try Self.require(wireType, .lengthDelimited, field: field, offset: offset)
        return try readMessage()
    }

    mutating func float(_ wireType: WireType, field: String) throws(ProtobufError) -> Float {
        try Self.require(wireType, .fixed32, field: field, offset: offset)
        return Float(bitPattern: try readFixed32())
    }

    /// int32 / enum: a varint whose low 32 bits are the two's complement value.
    mutating func int32(_ wireType: WireType, field: String) throws(ProtobufError) -> Int32 {
        try Self.require(wireType, .varint, field: field, offset: offset)
        return Int32(truncatingIfNeeded: try readVarint())
    }

    mutating func bool(_ wireType: WireType, field: String) throws(ProtobufError) -> Bool {
        try Self.require(wireType, .varint, field: field, offset: offset)
        return try readVarint() != 0
    }
}

/// Why protobuf bytes could not be decoded. Offsets are from the start of the file.
enum ProtobufError: Error, Equatable, CustomStringConvertible {
    case truncated(what: String, offset: Int)
    case malformedVarint(offset: Int)
    case unsupportedWireType(Int, offset: Int)
    case invalidFieldNumber(Int, offset: Int)
    case wrongWireType(field: String, expected: String, got: String, offset: Int)
    case invalidUTF8(field: String, offset: Int)

    var description: String {
        switch self {
        case .truncated(let what, let offset):
            return "truncated protobuf: \(what) at byte \(offset) runs past the end of its message"
        case .malformedVarint(let offset):
            return "malformed protobuf varint at byte \(offset) (longer than 64 bits)"
        case .unsupportedWireType(let type, let offset):
            return "protobuf wire type \(type) at byte \(offset) is not supported"
        case .invalidFieldNumber(let field, let offset):
            return "invalid protobuf field number \(field) at byte \(offset)"
        case .wrongWireType(let field, let expected, let got, let offset):
            return "protobuf field \(field) at byte \(offset) has wire type \(got), expected \(expected)"
        case .invalidUTF8(let field, let offset):
            return "protobuf field \(field) at byte \(offset) is not valid UTF-8"
        }
    }
}
