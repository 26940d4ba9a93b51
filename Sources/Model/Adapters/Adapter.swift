import TensorCore

/// The adapter seam (docs/ARCHITECTURE.md, "How to add an adapter").
///
/// An adapter method is two types:
/// - an **options** type conforming to `AdapterMethod` (e.g. `DCFTOptions`): its config name,
///   its option fields (decoded from the `adapter:` section of a config and from an adapter
///   file's metadata), and a factory that attaches one adapter instance to a linear layer;
/// - an **instance** type conforming to `LinearAdapter` (e.g. `DCFTAdapter`): the trainable
///   tensors it registers under Hugging Face/PEFT-style names, its forward and backward next to
///   each other, its merge into `W`, its initialisation, and (optionally) the vectors the
///   orthogonality penalty acts on.
///
/// `AdapterRegistry` maps config names to options types. Adding an adapter is one new file with
/// the two types plus one line in `AdapterRegistry.builtIn`; train, bench, eval, predict, merge,
/// checkpoints and the adapter file then handle it without further changes.

/// One adapter attached to one linear layer `y = x·Wᵀ + b` (`W: [out × in]`, frozen under PEFT).
///
/// The instance owns whatever it saves between forward and backward. Calls come from
/// `AdaptedLinear`, which runs the frozen product and asks the adapter whether it writes `y`
/// (and `dx`) itself so that the frozen gemm can accumulate into it instead.
public protocol LinearAdapter: AnyObject {
    /// Names of the trainable tensors this adapter registered, in registration order.
    var parameterNames: [String] { get }
    /// The registered tensors, in the same order.
    var parameters: [ParamRef] { get }
    /// Trainable scalars.
    var parameterCount: Int { get }

    /// Whether `forward` overwrites `y` with `bias + term` (then the frozen gemm accumulates
    /// into `y`); otherwise `forward` adds its term to `y` after the frozen gemm wrote it.
    func writesOutput(training: Bool) -> Bool
    /// Adds the adapter term for `x [rows × in]` to `y [rows × out]`, or (when `writesOutput`)
    /// writes `y = bias + term`. Saves what `backward` needs. Dropout, if any, draws from `rng`.
    func forward(store: ParameterStore, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int,
                 training: Bool, rng: inout SeededRNG, bias: UnsafePointer<Float>?)

    /// Whether `backward` can overwrite `dx` (then the frozen gemm accumulates into it).
    func writesInputGradient(training: Bool) -> Bool
    /// Backward of the last `forward` given `dy [rows × out]`: accumulates the adapter's
    /// gradients into `store`'s gradient buffer and its `dx` term (overwriting `dx` when
    /// `overwriteDX`; `dx == nil` when nothing below needs it).
    func backward(store: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, rows: Int, training: Bool, overwriteDX: Bool)

    /// Adds the adapter's increment `ΔW` to `w [out × in]` (merge for export).
    func merge(store: ParameterStore, into w: UnsafeMutablePointer<Float>)
    /// Initialises the adapter's tensors (the method's reference initialisation) from `rng`.
    func initialize(store: ParameterStore, rng: inout SeededRNG)
    /// Vectors the orthogonality penalty `γ·R` acts on (`OrthogonalityPenalty`); empty for
    /// methods without one.
    var orthogonalVectors: [ParamRef] { get }
}

extension LinearAdapter {
    public var orthogonalVectors: [ParamRef] { [] }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// One option of an adapter method: its key (config `adapter.<key>`; adapter-file metadata
/// `<method>_<key>`, or the key itself when it already starts with `<method>_`), its default,
/// whether it is an integer, its valid range and its meaning.
public struct AdapterField: Sendable, Equatable {
    public let key: String
    public let defaultValue: Double
    public let isInteger: Bool
    public let range: ClosedRange<Double>
    public let doc: String

    public init(_ key: String, default value: Double, integer: Bool = false, range: ClosedRange<Double>, doc: String) {
        self.key = key; defaultValue = value; isInteger = integer; self.range = range; self.doc = doc
    }

    /// The metadata key in an adapter file of method `method`.
    public func fileKey(method: String) -> String { key.hasPrefix(method + "_") ? key : method + "_" + key }

    /// The value as text: integers without a fraction, other values as the shortest text that
    /// reads back as the same Float (options are stored as Float).
    public func format(_ v: Double) -> String { isInteger ? String(Int(v)) : String(Float(v)) }
}

/// Option values of an adapter method by field key. Missing keys take the field defaults.
public typealias AdapterSettings = [String: Double]

/// An adapter method's options: a value that knows its fields and attaches adapters.
public protocol AdapterMethod: Sendable {
    /// The config name (`adapter.type`), e.g. "dcft".
    static var name: String { get }
    /// Every option, in the order `--list-keys` shows them.
    static var fields: [AdapterField] { get }
    /// Builds the options from values already checked against `fields` (types and ranges);
    /// throws for combinations the fields cannot express (e.g. DCFT's stride > kernel).
    init(settings: AdapterSettings) throws
    /// The options as field values (round-trips through `init(settings:)`).
    var settings: AdapterSettings { get }
    /// Why a linear `[out × in]` cannot take this adapter, or nil if it can.
    func incompatibility(inFeatures: Int, outFeatures: Int) -> String?
    /// Registers the adapter's tensors under `prefix` (the linear's name) and returns it.
    func makeAdapter(store: ParameterStore, prefix: String, inFeatures: Int, outFeatures: Int) -> LinearAdapter
}

extension AdapterMethod {
    public var name: String { Self.name }
    public var fields: [AdapterField] { Self.fields }
    public func incompatibility(inFeatures: Int, outFeatures: Int) -> String? { nil }

    /// `settings` with every field present (defaults filled in).
    public static func complete(_ s: AdapterSettings) -> AdapterSettings {
        var out = s
        for f in fields where out[f.key] == nil { out[f.key] = f.defaultValue }
        return out
    }

    /// Checks each value against its field (integer, range) and builds the options; errors
    /// name the key, the value and the valid range.
    public static func make(settings: AdapterSettings, source: String) throws -> Self {
        let known = Set(fields.map(\.key))
        for key in settings.keys.sorted() where !known.contains(key) {
            throw ConfigError(file: source, problem: "\(name) adapter has no option \"\(key)\" (options: \(fields.map(\.key).joined(separator: ", ")))")
        }
        let all = complete(settings)
        for f in fields {
            let v = all[f.key]!
            if f.isInteger && v != v.rounded() { throw ConfigError(file: source, problem: "\(f.key): expected an integer, got \(v)") }
            guard f.range.contains(v) else {
                throw ConfigError(file: source, problem: "\(f.key): \(f.format(v)) is out of range \(f.format(f.range.lowerBound))...\(f.format(f.range.upperBound))")
            }
        }
        do { return try Self(settings: all) } catch let e as ConfigError {
            throw ConfigError(file: source, problem: e.problem)
        }
    }
}

/// The adapter methods `adapter.type` can name. `none` (head only, or full fine-tuning) is not
/// a method: it is the absence of one.
public enum AdapterRegistry {
    /// The built-in methods: one line per adapter.
    static let builtIn: [any AdapterMethod.Type] = [
        DCFTOptions.self,
        LoRAOptions.self,
    ]

    nonisolated(unsafe) private static var extra: [any AdapterMethod.Type] = []

    /// Every registered method, built-in first.
    public static var methods: [any AdapterMethod.Type] { builtIn + extra }

    /// Adds a method at run time (before any config or adapter file is read), e.g. a
    /// program's own adapter or a test's. A name already registered is replaced.
    public static func register(_ method: any AdapterMethod.Type) {
        extra.removeAll { $0.name == method.name }
        extra.append(method)
    }

    /// The method called `name`, or nil.
    public static func method(named name: String) -> (any AdapterMethod.Type)? {
        methods.last { $0.name == name }
    }

    /// Valid values of `adapter.type`: every method and "none".
    public static var typeNames: [String] { methods.map { $0.name } + ["none"] }
}

/// `γ · R` over the orthogonal vectors of every adapter that has them; see `OrthogonalityPenalty`.
extension Array where Element == LinearAdapter {
    public var orthogonalVectors: [ParamRef] { flatMap(\.orthogonalVectors) }
}
