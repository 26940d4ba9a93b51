import Foundation

/// Settings from tokenizer_config.json and special_tokens_map.json (transformers' files
/// beside the vocabulary). Every field is optional; the loaders fill in the defaults of
/// `BertTokenizer` / `RobertaTokenizer`.
public struct TokenizerConfig: Sendable, Equatable {
    /// A special token as written in the config: a string, or an object with lstrip/rstrip.
    public struct SpecialToken: Sendable, Equatable {
        public var content: String
        public var lstrip: Bool
        public var rstrip: Bool

        public init(_ content: String, lstrip: Bool = false, rstrip: Bool = false) {
            self.content = content
            self.lstrip = lstrip
            self.rstrip = rstrip
        }
    }

    public var doLowerCase: Bool?
    /// `strip_accents`: nil when absent or null (then it follows `doLowerCase`).
    public var stripAccents: Bool?
    public var tokenizeChineseChars: Bool?
    public var addPrefixSpace: Bool?
    /// `split_by_punct` (DeBERTa-v2); only false / absent is supported.
    public var splitByPunct: Bool?
    /// `unk_token`, `cls_token`, `sep_token`, `pad_token`, `mask_token`, `bos_token`, `eos_token`.
    public var specialTokens: [String: SpecialToken] = [:]
    /// `added_tokens_decoder` (id → token), transformers ≥ 4.34.
    public var addedTokens: [AddedToken] = []

    public init() {}

    public init(doLowerCase: Bool? = nil, stripAccents: Bool? = nil, tokenizeChineseChars: Bool? = nil,
                addPrefixSpace: Bool? = nil, specialTokens: [String: SpecialToken] = [:]) {
        self.doLowerCase = doLowerCase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
        self.addPrefixSpace = addPrefixSpace
        self.specialTokens = specialTokens
    }

    static let specialTokenKeys = ["unk_token", "cls_token", "sep_token", "pad_token", "mask_token",
                                   "bos_token", "eos_token"]

    /// Reads tokenizer_config.json and then special_tokens_map.json (which wins for special
    /// tokens) from `directory`. Missing files are fine; unreadable or invalid ones throw.
    public static func read(directory: URL) throws -> TokenizerConfig {
        var config = TokenizerConfig()
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let json = try JSONFile(configURL)
            let root = try json.object(json.root, "the top level")
            config.doLowerCase = try json.optionalBool(root["do_lower_case"], "do_lower_case")
            config.stripAccents = try json.optionalBool(root["strip_accents"], "strip_accents")
            config.tokenizeChineseChars = try json.optionalBool(root["tokenize_chinese_chars"], "tokenize_chinese_chars")
            config.addPrefixSpace = try json.optionalBool(root["add_prefix_space"], "add_prefix_space")
            config.splitByPunct = try json.optionalBool(root["split_by_punct"], "split_by_punct")
            try config.readSpecialTokens(root, json)
            if let decoder = root["added_tokens_decoder"] {
                for (key, value) in try json.members(decoder, "added_tokens_decoder") {
                    guard let id = Int32(key) else {
                        throw TokenizerError.malformedFile(configURL, reason: "added_tokens_decoder key \"\(key)\" is not an id")
                    }
                    let entry = try json.object(value, "added_tokens_decoder[\(key)]")
                    config.addedTokens.append(AddedToken(
                        content: try json.string(entry["content"], "added_tokens_decoder[\(key)].content"),
                        id: id,
                        special: try json.optionalBool(entry["special"], "special") ?? true,
                        lstrip: try json.optionalBool(entry["lstrip"], "lstrip") ?? false,
                        rstrip: try json.optionalBool(entry["rstrip"], "rstrip") ?? false))
                }
                config.addedTokens.sort { $0.id < $1.id }
            }
        }
        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        if FileManager.default.fileExists(atPath: mapURL.path) {
            let json = try JSONFile(mapURL)
            try config.readSpecialTokens(try json.object(json.root, "the top level"), json)
        }
        return config
    }

    private mutating func readSpecialTokens(_ root: JSONValue, _ json: JSONFile) throws {
        for key in Self.specialTokenKeys {
            guard let value = root[key], !value.isNull else { continue }
            if case .string(let content) = value {
                specialTokens[key] = SpecialToken(content)
            } else {
                let entry = try json.object(value, key)
                specialTokens[key] = SpecialToken(
                    try json.string(entry["content"], "\(key).content"),
                    lstrip: try json.optionalBool(entry["lstrip"], "\(key).lstrip") ?? false,
                    rstrip: try json.optionalBool(entry["rstrip"], "\(key).rstrip") ?? false)
            }
        }
    }

    /// The configured token for `key`, or `fallback`.
    func special(_ key: String, default fallback: String) -> SpecialToken {
        specialTokens[key] ?? SpecialToken(fallback)
    }
}

/// A parsed JSON file with typed accessors whose errors name the file.
struct JSONFile {
    let url: URL
    let root: JSONValue

    init(_ url: URL) throws {
        self.url = url
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FileManager.default.fileExists(atPath: url.path)
                ? TokenizerError.unreadableFile(url, reason: error.localizedDescription)
                : TokenizerError.missingFile(url)
        }
        do {
            root = try JSONValue.parse(data)
        } catch {
            throw TokenizerError.malformedFile(url, reason: "not valid JSON: \(error)")
        }
    }

    func fail(_ reason: String) -> TokenizerError { .malformedFile(url, reason: reason) }

    /// Members of an object, in file order.
    func members(_ value: JSONValue?, _ what: String) throws -> [(key: String, value: JSONValue)] {
        guard case .object(let members)? = value else { throw fail("\(what) must be an object") }
        return members
    }

    func object(_ value: JSONValue?, _ what: String) throws -> JSONValue {
        guard case .object? = value else { throw fail("\(what) must be an object") }
        return value!
    }

    func array(_ value: JSONValue?, _ what: String) throws -> [JSONValue] {
        guard case .array(let elements)? = value else { throw fail("\(what) must be an array") }
        return elements
    }

    func string(_ value: JSONValue?, _ what: String) throws -> String {
        guard case .string(let string)? = value else { throw fail("\(what) must be a string") }
        return string
    }

    func optionalString(_ value: JSONValue?, _ what: String) throws -> String? {
        if value == nil || value!.isNull { return nil }
        return try string(value, what)
    }

    func int(_ value: JSONValue?, _ what: String) throws -> Int {
        guard case .integer(let int)? = value else { throw fail("\(what) must be an integer") }
        return int
    }

    func optionalInt(_ value: JSONValue?, _ what: String) throws -> Int? {
        if value == nil || value!.isNull { return nil }
        return try int(value, what)
    }

    func optionalBool(_ value: JSONValue?, _ what: String) throws -> Bool? {
        if value == nil || value!.isNull { return nil }
        guard case .bool(let bool)? = value else { throw fail("\(what) must be true, false or null") }
        return bool
    }
}
