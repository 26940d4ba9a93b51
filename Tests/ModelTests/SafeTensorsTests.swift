import Testing
import Foundation
import Model

/// Fixture paths and helpers for the safetensors tests. The fixtures under `Fixtures/` are
/// written by the Python `safetensors` + torch libraries via
/// `scripts/make_safetensors_fixtures.py` (see its header for how to regenerate them); the
/// tests that run Python use the same script and are skipped when `import safetensors, torch`
/// fails.
enum SafeTensorsFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/ModelTests/Fixtures/\(name)").path
    }
    static let script = packageRoot.appendingPathComponent("scripts/make_safetensors_fixtures.py").path
    /// A real checkpoint, when the machine has it (never copied into the package).
    /// Fetched by launch/fetch-model.sh (launch/test.sh runs it).
    static let miniLM = packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2/model.safetensors").path

    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static let pythonAvailable: Bool = (try? run(["-c", "import safetensors, torch"])) != nil

    /// Runs `python3 args…` and returns its standard output; throws if it exits non-zero.
    @discardableResult
    static func run(_ args: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SafeTensorsError(.io, file: "python3", String(decoding: errors, as: UTF8.self))
        }
        return data
    }

    /// `python3 make_safetensors_fixtures.py <command> args…`, stdout parsed as JSON.
    static func script(_ command: String, _ args: String...) throws -> [String: Any] {
        let data = try run([script, command] + args)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Float bit patterns equal, treating any two NaNs as equal.
func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

@Suite("safetensors reader")
struct SafeTensorsReaderTests {
    let st: SafeTensorsFile
    let expected: SafeTensorsFile
    init() throws {
        st = try SafeTensorsFile(path: SafeTensorsFixtures.path("dtypes.safetensors"))
        expected = try SafeTensorsFile(path: SafeTensorsFixtures.path("dtypes_as_f32.safetensors"))
    }

    @Test("names, metadata, dtypes and shapes of a file written by torch")
    func header() throws {
        #expect(st.names == ["bf16", "embeddings.position_ids", "empty", "f16", "f32", "f64", "i32", "i64", "matrix", "scalar"])
        #expect(st.metadata == ["format": "pt", "source": "make_safetensors_fixtures.py",
                                "note": "caf\u{e9} \"quoted\" back\\slash / tab\there\nline2"])
        #expect(try st.info("f16").dtype == .F16 && st.info("f16").shape == [4, 4])
        #expect(try st.info("bf16").dtype == .BF16 && st.info("bf16").shape == [13])
        #expect(try st.info("embeddings.position_ids") == SafeTensorInfo(dtype: .I64, shape: [1, 8], dataOffsets: 0..<64))
        #expect(try st.info("scalar").shape == [] && st.info("scalar").elementCount == 1)
        #expect(try st.info("empty").shape == [0, 4] && st.floats("empty").isEmpty)
    }

    @Test("F32, F16, BF16 and F64 convert to exactly torch's .float() values", arguments: ["f32", "f16", "bf16", "f64", "matrix", "scalar", "empty"])
    func floatConversions(name: String) throws {
        let got = try st.floats(name), want = try expected.floats(name)
        #expect(try got.count == st.info(name).elementCount)
        #expect(sameFloats(got, want), "\(name): \(got) vs \(want)")
    }

    @Test("edge values: F16 subnormals, ±65504, ±inf, NaN, signed zero; BF16 max and subnormal")
    func edgeValues() throws {
        let h = try st.floats("f16")
        #expect(bits(Array(h[0...1])) == [0, 0x8000_0000])
        #expect(h[2] == 0x1p-24 && h[3] == -0x1p-24 && h[4] == 0x1.ff8p-15 && h[6] == 0x1p-14)
        #expect(h[11] == 65504 && h[12] == -65504 && h[13] == .infinity && h[14] == -.infinity && h[15].isNaN)
        let b = try st.floats("bf16")
        #expect(b[2] == 0x1p-133 && b[4] == 1 && b[5] == -2.5 && b[8] == 0x1.fep127 && b[12].isNaN)
        #expect(try st.floats("matrix") == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(try st.floats("f64")[1] == -.infinity)
    }

    @Test("I64 and I32 read as Int64")
    func integers() throws {
        #expect(try st.int64s("embeddings.position_ids") == Array(0..<8))
        #expect(try st.int64s("i64") == [-1, 0, 1 << 40, -(1 << 62), .max])
        #expect(try st.int64s("i32") == [1, -2, 2_147_483_647])
        #expect(try st.int64s("i32") == expected.int64s("i32"))
    }

    @Test("a missing tensor names the file, the tensor and the closest name")
    func missingTensor() throws {
        let e = try #require(throws: SafeTensorsError.self) { try st.floats("embeddings.position_id") }
        #expect(e.kind == .missingTensor && e.tensor == "embeddings.position_id")
        #expect(e.description.contains("dtypes.safetensors") && e.description.contains("closest: 'embeddings.position_ids'"))
        let empty = try SafeTensorsFile(bytes: SafeTensorsWriter.serialize([]), label: "empty.safetensors")
        #expect(empty.names.isEmpty && empty.metadata.isEmpty)
        #expect(throws: SafeTensorsError.self) { try empty.info("x") }
    }

    @Test("float data from an integer tensor, and integers from a float tensor, are errors")
    func wrongDType() throws {
        let e = try #require(throws: SafeTensorsError.self) { try st.floats("embeddings.position_ids") }
        #expect(e.kind == .wrongDType && e.description.contains("dtypes.safetensors: tensor 'embeddings.position_ids': dtype I64"))
        let f = try #require(throws: SafeTensorsError.self) { try st.int64s("f16") }
        #expect(f.kind == .wrongDType && f.description.contains("'f16'"))
    }

    @Test("expectShapes lists every missing, mis-shaped and unexpected tensor in one error")
    func expectShapes() throws {
        try st.expectShapes(Dictionary(uniqueKeysWithValues: try st.names.map { ($0, try st.info($0).shape) }))
        let want = ["f16": [4, 4], "bf16": [12], "encoder.weight": [3, 3], "pooler.bias": [3]]
        let e = try #require(throws: SafeTensorsError.self) { try st.expectShapes(want) }
        #expect(e.kind == .shapeMismatch && e.description.hasPrefix(st.path))
        #expect(e.problem.contains("(2 missing, 1 mis-shaped, 8 unexpected)"))
        for line in ["missing     encoder.weight  expected [3, 3]", "missing     pooler.bias  expected [3]",
                     "mis-shaped  bf16  file has [13], expected [12]", "unexpected  embeddings.position_ids  [1, 8] I64"] {
            #expect(e.problem.contains(line), "\(line)")
        }
        let g = try #require(throws: SafeTensorsError.self) { try st.expectShapes(want, ignoringUnexpected: { _ in true }) }
        #expect(g.problem.contains("(2 missing, 1 mis-shaped, 0 unexpected)") && !g.problem.contains("unexpected  "))
    }

    @Test("a nonexistent file is an I/O error naming it")
    func nonexistent() {
        let e = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
        #expect(e?.kind == .io && e?.description.hasPrefix("/nonexistent/model.safetensors: cannot read") == true)
    }

    @Test("all-MiniLM-L6-v2 loads and matches safetensors.torch.load_file",
          .enabled(if: FileManager.default.fileExists(atPath: SafeTensorsFixtures.miniLM)))
    func miniLM() throws {
        let start = Date()
        let m = try SafeTensorsFile(path: SafeTensorsFixtures.miniLM)
        var total = 0
        for name in m.names where (try? m.info(name))?.dtype == .F32 { total += try m.floats(name).count }
        print("debug build: opened and converted \(total) floats of MiniLM in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
        #expect(m.names.count == 104 && m.metadata == ["format": "pt"] && total == 22_713_216)
        #expect(try m.info("embeddings.word_embeddings.weight").shape == [30522, 384])
        #expect(try m.int64s("embeddings.position_ids") == Array(0..<512))
        guard SafeTensorsFixtures.pythonAvailable else { return }
        let summary = try SafeTensorsFixtures.script("summary", SafeTensorsFixtures.miniLM)
        #expect(Set(summary.keys) == Set(m.names))
        for name in m.names where (try? m.info(name))?.dtype == .F32 {
            let s = try #require(summary[name] as? [String: Any]), v = try m.floats(name)
            #expect(s["shape"] as? [Int] == (try m.info(name).shape))
            #expect(s["first"] as? [Int] == [Int(v.first!.bitPattern)] && s["last"] as? [Int] == [Int(v.last!.bitPattern)])
            let sum = v.reduce(0.0) { $0 + Double($1) }, want = try #require(s["sum"] as? Double)
            #expect(abs(sum - want) <= 1e-9 * max(1, abs(want)) + 1e-6, "\(name)")
        }
    }
}

// MARK: - F16 / BF16 conversions

@Suite("F16 and BF16 conversions")
struct HalfPrecisionTests {
    @Test("every F16 bit pattern widens exactly and narrows back to itself")
    func f16AllPatterns() {
        for h in 0...UInt16.max {
            let f = HalfPrecision.float(fromF16: h)
            #if !(os(macOS) && arch(x86_64))
            let reference = Float(Float16(bitPattern: h))
            #expect(f.bitPattern == reference.bitPattern || (f.isNaN && reference.isNaN), "F16 \(h)")
            #endif
            if !f.isNaN { #expect(HalfPrecision.f16Bits(from: f) == h, "F16 \(h)") }
            else { #expect(HalfPrecision.f16Bits(from: f) & 0x7C00 == 0x7C00 && HalfPrecision.f16Bits(from: f) & 0x3FF != 0) }
        }
    }

    @Test("every BF16 bit pattern widens to its top 16 bits and narrows back")
    func bf16AllPatterns() {
        for b in 0...UInt16.max {
            let f = HalfPrecision.float(fromBF16: b)
            #expect(f.bitPattern == UInt32(b) << 16)
            if !f.isNaN { #expect(HalfPrecision.bf16Bits(from: f) == b) } else { #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: f)).isNaN) }
        }
    }

    @Test("F32 → F16 rounds ties to even at every F16 midpoint, and neighbours of ties the right way")
    func f16Ties() {
        for h in UInt16(0)..<0x7BFF {  // each pair of adjacent finite non-negative F16s (65504 → inf: see below)
            let lo = HalfPrecision.float(fromF16: h), hi = HalfPrecision.float(fromF16: h + 1)
            let mid = Float((Double(lo) + Double(hi)) / 2)  // exact: 12 significant bits
            let even = h & 1 == 0 ? h : h + 1
            #expect(HalfPrecision.f16Bits(from: mid) == even)
            #expect(HalfPrecision.f16Bits(from: mid.nextDown) == h && HalfPrecision.f16Bits(from: mid.nextUp) == h + 1, "h = \(h), mid = \(mid)")
            #expect(HalfPrecision.f16Bits(from: -mid) == even | 0x8000)
            #if !(os(macOS) && arch(x86_64))
            #expect(Float16(mid).bitPattern == even && Float16(mid.nextUp).bitPattern == h + 1)
            #endif
        }
        #expect(HalfPrecision.f16Bits(from: 65520) == 0x7C00 && HalfPrecision.f16Bits(from: 65519.996) == 0x7BFF)
        #expect(HalfPrecision.f16Bits(from: 0x1p-25) == 0 && HalfPrecision.f16Bits(from: Float(0x1p-25).nextUp) == 1)
        #expect(HalfPrecision.f16Bits(from: .greatestFiniteMagnitude) == 0x7C00 && HalfPrecision.f16Bits(from: -.infinity) == 0xFC00)
    }

    @Test("F32 → F16 and F32 → BF16 match torch's .to() on the rounding fixture")
    func narrowingMatchesTorch() throws {
        let st = try SafeTensorsFile(path: SafeTensorsFixtures.path("rounding.safetensors"))
        let source = try st.floats("source")
        #expect(source.count > 1500)
        func stored(_ name: String) throws -> [UInt16] {
            try st.withRawBytes(name) { raw in (0..<raw.count / 2).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } }
        }
        let torchF16 = try stored("to_f16"), torchBF16 = try stored("to_bf16")
        for (i, x) in source.enumerated() {
            if x.isNaN {
                #expect(HalfPrecision.float(fromF16: HalfPrecision.f16Bits(from: x)).isNaN && HalfPrecision.float(fromF16: torchF16[i]).isNaN)
                #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: x)).isNaN && HalfPrecision.float(fromBF16: torchBF16[i]).isNaN)
                continue
            }
            #expect(HalfPrecision.f16Bits(from: x) == torchF16[i], "F16 of \(x) (#\(i))")
            #expect(HalfPrecision.bf16Bits(from: x) == torchBF16[i], "BF16 of \(x) (#\(i))")
        }
    }
}

// MARK: - Writer

/// A tensor for the writer tests, with its values kept for checking.
struct WriterSample: Sendable {
    var name: String, shape: [Int], dtype: SafeTensorsDType
    var floats: [Float] = [], ints: [Int64] = []
    var tensor: SafeTensorsWriter.Tensor {
        dtype == .I64 || dtype == .I32 ? .init(name: name, shape: shape, int64s: ints, dtype: dtype)
            : .init(name: name, shape: shape, floats: floats, dtype: dtype)
    }
    /// What reading it back must give: floats rounded through the stored dtype.
    var expectedFloats: [Float] {
        switch dtype {
        case .F16: return floats.map { HalfPrecision.float(fromF16: HalfPrecision.f16Bits(from: $0)) }
        case .BF16: return floats.map { HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: $0)) }
        default: return floats
        }
    }
    /// Expected values as the Python `dump` command prints them: F32 bit patterns or ints.
    var dumped: [Int] { ints.isEmpty && dtype != .I64 && dtype != .I32 ? expectedFloats.map { Int($0.bitPattern) } : ints.map { Int($0) } }
}

/// Every dtype the writer supports, ties and overflow for F16/BF16, a scalar and an empty tensor.
let writerSamples: [WriterSample] = [
    .init(name: "encoder.layer.0.weight", shape: [2, 3], dtype: .F32, floats: [1, -2, 3.5, 1e-3, 0x1p-20, .nan]),
    .init(name: "encoder.layer.0.half", shape: [6], dtype: .F16, floats: [1.00048828125, 1.00146484375, 0x1p-24, 70000, -0.0, 1.0 / 3]),
    .init(name: "encoder.layer.0.brain", shape: [2, 2], dtype: .BF16, floats: [1.00390625, 3.3961776e38, -0x1.6cp-133, .pi]),
    .init(name: "double", shape: [2], dtype: .F64, floats: [0.1, -.infinity]),
    .init(name: "embeddings.position_ids", shape: [1, 4], dtype: .I64, ints: [0, 1, 2, 3]),
    .init(name: "labels", shape: [3], dtype: .I32, ints: [-1, 0, 7]),
    .init(name: "scalar", shape: [], dtype: .F32, floats: [42]),
    .init(name: "empty", shape: [0, 3], dtype: .F32),
    .init(name: "caf\u{e9} \"x\"\n", shape: [1], dtype: .F32, floats: [9]),
]

@Suite("safetensors writer", .serialized)
struct SafeTensorsWriterTests {
    let metadata = ["format": "pt", "note": "written by dcft \u{2014} \"quoted\"\t"]

    @Test("Swift reads back what it wrote: values, shapes, metadata, reference layout")
    func roundTrip() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(), path = dir + "/model.safetensors"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensorsWriter.write(writerSamples.map(\.tensor), metadata: metadata, to: path)
        let st = try SafeTensorsFile(path: path)
        #expect(st.names == writerSamples.map(\.name).sorted() && st.metadata == metadata)
        for s in writerSamples {
            let info = try st.info(s.name)
            #expect(info.dtype == s.dtype && info.shape == s.shape)
            #expect(info.dataOffsets.lowerBound % (s.dtype.bitSize / 8) == 0, "\(s.name) aligned")
            if s.ints.isEmpty && s.dtype != .I64 { #expect(sameFloats(try st.floats(s.name), s.expectedFloats), "\(s.name)") }
            else { #expect(try st.int64s(s.name) == s.ints) }
        }
        // Reference order: dtype descending (I64, F64, F32, I32, BF16, F16), then name.
        let order = st.names.sorted { try! st.info($0).dataOffsets.lowerBound < st.info($1).dataOffsets.lowerBound }
        #expect(order == ["embeddings.position_ids", "double", "caf\u{e9} \"x\"\n", "empty", "encoder.layer.0.weight",
                          "scalar", "labels", "encoder.layer.0.brain", "encoder.layer.0.half"])
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        #expect(n % 8 == 0 && data[8] == UInt8(ascii: "{"))
        #expect(try SafeTensorsWriter.serialize(writerSamples.map(\.tensor), metadata: metadata) == data)
    }

    @Test("F32 tuples API: F32 by default, F16/BF16 on request")
    func tupleAPI() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tensors: [(name: String, shape: [Int], data: [Float])] = [("b", [2], [1, 2]), ("a", [1, 1], [0.1])]
        for dtype in [SafeTensorsDType.F32, .F16, .BF16] {
            try SafeTensorsWriter.write(tensors: tensors, metadata: [:], dtype: dtype, to: dir + "/t.safetensors")
            let st = try SafeTensorsFile(path: dir + "/t.safetensors")
            #expect(try st.info("a").dtype == dtype && st.info("a").shape == [1, 1] && st.floats("b") == [1, 2])
            #expect(try st.floats("a")[0] == (dtype == .F32 ? 0.1 : dtype == .F16 ? 0.0999755859375 : 0.10009765625))
        }
    }

    @Test("Python safetensors (load_file and safe_open) reads Swift's file with the same values",
          .enabled(if: SafeTensorsFixtures.pythonAvailable))
    func pythonReadsSwiftOutput() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(), path = dir + "/model.safetensors"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensorsWriter.write(writerSamples.map(\.tensor), metadata: metadata, to: path)
        let dump = try SafeTensorsFixtures.script("dump", path)
        #expect(dump["metadata"] as? [String: String] == metadata)
        let tensors = try #require(dump["tensors"] as? [String: [String: Any]])
        #expect(Set(tensors.keys) == Set(writerSamples.map(\.name)))
        let torchName: [SafeTensorsDType: String] = [.F32: "float32", .F16: "float16", .BF16: "bfloat16", .F64: "float64", .I64: "int64", .I32: "int32"]
        for s in writerSamples {
            let t = try #require(tensors[s.name])
            #expect(t["dtype"] as? String == torchName[s.dtype] && t["shape"] as? [Int] == s.shape, "\(s.name)")
            let got = try #require(t["values"] as? [Int])
            if s.name == "encoder.layer.0.weight" {  // NaN payloads may differ: compare NaN-ness there
                #expect(Array(got.prefix(5)) == Array(s.dumped.prefix(5)) && Float(bitPattern: UInt32(got[5])).isNaN)
            } else { #expect(got == s.dumped, "\(s.name)") }
        }
    }

    @Test("the file is byte-identical to what safetensors' save_file writes for the same tensors",
          .enabled(if: SafeTensorsFixtures.pythonAvailable), arguments: [[:], ["format": "pt"]])
    func byteIdenticalToPython(metadata: [String: String]) throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensorsWriter.write(writerSamples.map(\.tensor), metadata: metadata, to: dir + "/swift.safetensors")
        try SafeTensorsFixtures.run([SafeTensorsFixtures.script, "resave", dir + "/swift.safetensors", dir + "/python.safetensors"])
        let swift = try Data(contentsOf: URL(fileURLWithPath: dir + "/swift.safetensors"))
        let python = try Data(contentsOf: URL(fileURLWithPath: dir + "/python.safetensors"))
        #expect(swift == python)
    }

    @Test("invalid input throws before anything is written; an existing file is untouched; no temporary files remain")
    func atomicity() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(), path = dir + "/model.safetensors"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("previous contents".utf8).write(to: URL(fileURLWithPath: path))
        let bad: [(SafeTensorsWriter.Tensor, String)] = [
            (.init(name: "w", shape: [2, 2], floats: [1, 2, 3]), "shape [2, 2] has 4 elements but 3 values"),
            (.init(name: "w", shape: [-1], floats: []), "negative dimension"),
            (.init(name: "__metadata__", shape: [1], floats: [1]), "reserved"),
            (.init(name: "ids", shape: [1], int64s: [1 << 40], dtype: .I32), "does not fit in I32"),
            (.init(name: "ids", shape: [1], int64s: [1], dtype: .F32), "cannot be stored as F32"),
            (.init(name: "w", shape: [1], floats: [1], dtype: .I64), "cannot be stored as I64"),
        ]
        for (tensor, message) in bad {
            let e = try #require(throws: SafeTensorsError.self) { try SafeTensorsWriter.write([tensor], to: path) }
            #expect(e.kind == .invalidArgument && e.description.hasPrefix("\(path): tensor '\(tensor.name)': ") && e.problem.contains(message), "\(e)")
        }
        let twice = [SafeTensorsWriter.Tensor(name: "a", shape: [], floats: [1]), .init(name: "a", shape: [], floats: [2])]
        #expect(throws: SafeTensorsError.self) { try SafeTensorsWriter.write(twice, to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("previous contents".utf8))
        // The target is a directory: rename fails after the data was written and fsynced.
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: false)
        let e = try #require(throws: SafeTensorsError.self) { try SafeTensorsWriter.write(writerSamples.map(\.tensor), to: dir + "/taken") }
        #expect(e.kind == .io && e.description.hasPrefix(dir + "/taken: cannot rename"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsWriter.write([], to: dir + "/missing/dir/x.safetensors") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["model.safetensors", "taken"])
        try SafeTensorsWriter.write(writerSamples.map(\.tensor), to: path)
        #expect(try SafeTensorsFile(path: path).names.count == writerSamples.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["model.safetensors", "taken"])
    }
}

// MARK: - Corrupted files

/// A small valid file built by hand: tensor "b" is listed before "a" in the JSON although it
/// comes second in the data buffer (readers must go by offsets, not key order).
func handMadeFile(header: String = #"{"b":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}"#,
                  dataBytes: Int = 16) -> Data {
    var json = Array(header.utf8)
    json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: json)
    out.append(contentsOf: (0..<dataBytes).map { UInt8(truncatingIfNeeded: $0 * 7) })
    return out
}

/// One way of damaging a good file, the error kind it must produce, the tensor it must
/// name (if any) and a phrase the message must contain.
struct Corruption: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: @Sendable () -> Data
    let kind: SafeTensorsError.Kind
    let tensor: String?
    let phrase: String
    var testDescription: String { name }
    init(_ name: String, _ kind: SafeTensorsError.Kind, _ tensor: String?, _ phrase: String, _ bytes: @escaping @Sendable () -> Data) {
        self.name = name; self.kind = kind; self.tensor = tensor; self.phrase = phrase; self.bytes = bytes
    }
}

func entry(_ b: String = "[8,16]", dtype: String = "\"F16\"", shape: String = "[2,2]") -> String {
    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"# + dtype + #","shape":"# + shape + #","data_offsets":"# + b + "}}"
}

let corruptions: [Corruption] = [
    .init("empty file", .fileTooShort, nil, "file is 0 bytes, shorter than the 8-byte header length") { Data() },
    .init("5-byte file", .fileTooShort, nil, "file is 5 bytes") { Data([1, 0, 0, 0, 0]) },
    .init("header length flipped to 2^64-1", .headerLength, nil, "exceeds the 100000000-byte limit") {
        var d = handMadeFile(); d.replaceSubrange(0..<8, with: [UInt8](repeating: 0xFF, count: 8)); return d },
    .init("header length larger than the file", .headerLength, nil, "is larger than the") {
        var d = handMadeFile(); d[0] = UInt8(d.count - 8 + 1); d[1] = 0; return d },
    .init("file cut inside the header", .headerLength, nil, "file truncated?") { handMadeFile().prefix(40) },
    .init("truncated data buffer", .outOfBounds, "b", "data_offsets [8, 16] extend past the end of the 12-byte data buffer") { handMadeFile().dropLast(4) },
    .init("garbled JSON", .headerJSON, nil, "header is not valid JSON") {
        var d = handMadeFile(); d[12] = UInt8(ascii: "}"); d[30] = UInt8(ascii: ":"); return d },
    .init("header is a JSON array", .headerJSON, nil, "not a JSON object") { handMadeFile(header: "[1, 2, 3]", dataBytes: 0) },
    .init("header is not UTF-8", .headerJSON, nil, "not valid UTF-8") { var d = handMadeFile(); d[10] = 0xFF; return d },
    .init("entry missing dtype", .invalidEntry, "b", #"missing "dtype""#) {
        handMadeFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"shape":[2,2],"data_offsets":[8,16]}}"#) },
    .init("entry missing data_offsets", .invalidEntry, "a", #"missing "data_offsets""#) {
        handMadeFile(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, dataBytes: 0) },
    .init("shape is a string", .invalidEntry, "b", #""shape" must be an array of integers"#) { handMadeFile(header: entry(shape: "\"2x2\"")) },
    .init("shape holds a float", .invalidEntry, "b", #""shape" must be"#) { handMadeFile(header: entry(shape: "[2,2.5]")) },
    .init("dtype is a number", .invalidEntry, "b", #""dtype" must be a string"#) { handMadeFile(header: entry(dtype: "16")) },
    .init("offsets are floats", .invalidEntry, "b", #""data_offsets" must be an array of two integers"#) { handMadeFile(header: entry("[8.5,16]")) },
    .init("entry is a number", .invalidEntry, "a", "must be a JSON object") { handMadeFile(header: #"{"a":3}"#, dataBytes: 0) },
    .init("metadata value is a number", .invalidEntry, nil, "__metadata__ must be an object whose values are all strings") {
        handMadeFile(header: #"{"__metadata__":{"epoch":3}}"#, dataBytes: 0) },
    .init("unknown dtype", .unknownDType, "b", #"unknown dtype "F128""#) { handMadeFile(header: entry(dtype: "\"F128\"")) },
    .init("negative dimension", .invalidShape, "b", "negative dimension -2 in shape [-2, -2]") { handMadeFile(header: entry(shape: "[-2,-2]")) },
    .init("shape overflows", .invalidShape, "b", "overflows") { handMadeFile(header: entry(shape: "[4611686018427387904,4]")) },
    .init("data_offsets end before begin", .invalidOffsets, "b", "data_offsets [16, 8] end before they begin") { handMadeFile(header: entry("[16,8]")) },
    .init("three data_offsets", .invalidOffsets, "b", "must be [begin, end]") { handMadeFile(header: entry("[8,16,24]")) },
    .init("negative data_offsets", .invalidOffsets, "b", "negative data_offsets") { handMadeFile(header: entry("[-8,0]")) },
    .init("F4 tensor with an odd element count", .sizeMismatch, "b", "shape [3] of F4 is 12 bits, not a whole number of bytes") {
        handMadeFile(header: entry("[8,16]", dtype: "\"F4\"", shape: "[3]")) },
    .init("byte size does not match shape", .sizeMismatch, "b", "hold 8 bytes, but shape [3] of F16 needs 6") { handMadeFile(header: entry(shape: "[3]")) },
    .init("offset shifted past the end", .outOfBounds, "b", "data_offsets [12, 20] extend past the end of the 16-byte data buffer") { handMadeFile(header: entry("[12,20]")) },
    .init("offset shifted, leaving a gap", .gap, "b", "bytes [8, 12] of the data buffer before this tensor belong to no tensor") {
        handMadeFile(header: entry("[12,20]"), dataBytes: 20) },
    .init("two tensors overlap", .overlap, "b", "data_offsets [4, 12] overlap tensor 'a' at [0, 8]") {
        handMadeFile(header: entry("[4,12]"), dataBytes: 12) },
    .init("first tensor does not start at 0", .gap, "a", "bytes [0, 4]") {
        handMadeFile(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8) },
    .init("trailing bytes after the last tensor", .gap, nil, "bytes [16, 20] at the end of the data buffer belong to no tensor") {
        handMadeFile() + Data([1, 2, 3, 4]) },
]

@Suite("safetensors corrupted files")
struct SafeTensorsCorruptionTests {
    @Test("the hand-made base file is valid, whatever its JSON key order")
    func baseIsValid() throws {
        let st = try SafeTensorsFile(bytes: handMadeFile(), label: "base")
        #expect(st.names == ["a", "b"] && st.metadata == ["k": "v"])
        #expect(try st.info("b") == SafeTensorInfo(dtype: .F16, shape: [2, 2], dataOffsets: 8..<16))
        // Other dtypes validate (F4: 2 per byte) but are not converted to floats.
        let f4 = try SafeTensorsFile(bytes: handMadeFile(header: entry(dtype: "\"F4\"", shape: "[4,4]")), label: "f4")
        #expect(try f4.info("b").dtype == .F4)
        let e = try #require(throws: SafeTensorsError.self) { try f4.floats("b") }
        #expect(e.kind == .wrongDType && e.description.hasPrefix("f4: tensor 'b': dtype F4 cannot be read as floats"))
    }

    @Test("each corruption gives a SafeTensorsError naming the file, the tensor and the problem", arguments: corruptions)
    func corrupted(_ c: Corruption) throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(), path = dir + "/corrupt.safetensors"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try c.bytes().write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        #expect(e.kind == c.kind && e.file == path && e.tensor == c.tensor, "\(e)")
        #expect(e.description.hasPrefix(path + ": " + (c.tensor.map { "tensor '\($0)': " } ?? "")), "\(e)")
        #expect(e.problem.contains(c.phrase), "\(e)")
    }

    @Test("corrupting the torch-written fixture: truncation and a flipped header length")
    func corruptedFixture() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: SafeTensorsFixtures.path("dtypes.safetensors")))
        let dir = try SafeTensorsFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try good.dropLast(1).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
        let e = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(path: dir + "/cut.safetensors") }
        #expect(e.kind == .outOfBounds && e.tensor == "f16" && e.description.contains("cut.safetensors"))
        var flipped = good
        flipped[1] ^= 0x80
        try flipped.write(to: URL(fileURLWithPath: dir + "/flipped.safetensors"))
        let f = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(path: dir + "/flipped.safetensors") }
        #expect(f.kind == .headerLength && f.description.hasPrefix(dir + "/flipped.safetensors: header length"))
    }
}
