/// The parts of a SentencePiece `ModelProto` (spm.model) a Unigram tokenizer needs, decoded
/// from the protobuf wire format (field numbers from sentencepiece_model.proto). Unknown
/// fields are skipped; a field with the wrong wire type or truncated data throws.
struct SentencePieceModel: Equatable {
    /// `SentencePiece.Type`.
    enum PieceType: Int32 {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// `TrainerSpec.ModelType`.
    enum ModelType: Int32, CustomStringConvertible {
        case unigram = 1, bpe = 2, word = 3, char = 4

        var description: String {
            switch self {
            case .unigram: return "UNIGRAM"
            case .bpe: return "BPE"
            case .word: return "WORD"
            case .char: return "CHAR"
            }
        }
    }

    struct Piece: Equatable {
        var piece: String
        var score: Float
        /// Raw `type` value (NORMAL = 1 when absent); see `PieceType`.
        var type: Int32 = 1
    }

    var pieces: [Piece] = []
    // trainer_spec (defaults as in sentencepiece_model.proto)
    /// Raw `model_type` (UNIGRAM = 1 when absent); see `ModelType`.
    var modelType: Int32 = 1
    var unkID: Int32 = 0
    var bosID: Int32 = 1
    var eosID: Int32 = 2
    var padID: Int32 = -1
    var byteFallback = false
    // normalizer_spec
    var normalizerName: String?
    var precompiledCharsmap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    init() {}

    /// Decodes a serialized `ModelProto`.
    init(protobuf bytes: [UInt8]) throws(ProtobufError) {
        var reader = ProtobufReader(bytes)
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                var message = try reader.message(wire, field: "pieces")
                pieces.append(try Self.piece(&message, index: pieces.count))
            case 2:
                var message = try reader.message(wire, field: "trainer_spec")
                try readTrainerSpec(&message)
            case 3:
                var message = try reader.message(wire, field: "normalizer_spec")
                try readNormalizerSpec(&message)
            default:
                try reader.skip(wire)
            }
        }
    }

    private static func piece(_ reader: inout ProtobufReader, index: Int) throws(ProtobufError) -> Piece {
        var piece = Piece(piece: "", score: 0)
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                piece.piece = try reader.string(wire, field: "pieces[\(index)].piece")
            case 2: piece.score = try reader.float(wire, field: "pieces[\(index)].score")
            case 3: piece.type = try reader.int32(wire, field: "pieces[\(index)].type")
            default: try reader.skip(wire)
            }
        }
        return piece
    }

    private mutating func readTrainerSpec(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 3: modelType = try reader.int32(wire, field: "trainer_spec.model_type")
            case 35: byteFallback = try reader.bool(wire, field: "trainer_spec.byte_fallback")
            case 40: unkID = try reader.int32(wire, field: "trainer_spec.unk_id")
            case 41: bosID = try reader.int32(wire, field: "trainer_spec.bos_id")
            case 42: eosID = try reader.int32(wire, field: "trainer_spec.eos_id")
            case 43: padID = try reader.int32(wire, field: "trainer_spec.pad_id")
            default: try reader.skip(wire)
            }
        }
    }

    private mutating func readNormalizerSpec(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1: normalizerName = try reader.string(wire, field: "normalizer_spec.name")
            case 2: precompiledCharsmap = try reader.bytesField(wire, field: "normalizer_spec.precompiled_charsmap")
            case 3: addDummyPrefix = try reader.bool(wire, field: "normalizer_spec.add_dummy_prefix")
            case 4: removeExtraWhitespaces = try reader.bool(wire, field: "normalizer_spec.remove_extra_whitespaces")
            case 5: escapeWhitespaces = try reader.bool(wire, field: "normalizer_spec.escape_whitespaces")
            default: try reader.skip(wire)
            }
        }
    }
}
