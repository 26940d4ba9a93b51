import Testing
import Foundation
import HDF5Kit

/// A fresh temporary directory per test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-h5-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Expects `body` to throw an HDF5Error whose description contains every fragment.
func expectHDF5Error(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an HDF5Error containing \(fragments)", sourceLocation: sourceLocation)
    } catch let e as HDF5Error {
        for f in fragments {
            #expect(e.description.contains(f), "\"\(e.description)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("HDF5 files", .serialized)  // the serial HDF5 library is not thread-safe
struct HDF5KitTests {
    @Test("round trip of float32, int32, int64 and int8 datasets of rank 0 to 3, in groups")
    func roundTrip() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("a.h5").path
        do {
            let f = try HDF5File.create(path)
            try f.root.write("floats", (0..<24).map { Float($0) * 0.5 }, shape: [2, 3, 4])
            try f.root.write("ints", [Int32.min, -1, 0, Int32.max], shape: [2, 2])
            try f.root.write("offsets", [Int64(0), 3, 1 << 40])
            try f.root.write("types", [Int8(-128), 0, 127])
            try f.root.write("scalar", [Double.pi], shape: [])
            try f.root.write("empty", [Float](), shape: [0, 5])
            let g = try f.root.createGroup("adapters/layer.0")
            try g.write("A", [Float](repeating: 1.25, count: 6), shape: [6])
            try f.close()
        }
        let f = try HDF5File.open(path)
        let floats = try f.root.read("floats", as: Float.self)
        #expect(floats.shape == [2, 3, 4] && floats.values == (0..<24).map { Float($0) * 0.5 })
        #expect(try f.root.read("ints", as: Int32.self).values == [Int32.min, -1, 0, Int32.max])
        #expect(try f.root.read("offsets", as: Int64.self).values == [0, 3, 1 << 40])
        #expect(try f.root.read("types", as: Int8.self).values == [-128, 0, 127])
        let s = try f.root.read("scalar", as: Double.self)
        #expect(s.shape == [] && s.values == [Double.pi])
        #expect(try f.root.shape(of: "empty") == [0, 5])
        #expect(try f.root.group("adapters").group("layer.0").read("A", as: Float.self).values.allSatisfy { $0 == 1.25 })
        #expect(try f.root.read("adapters/layer.0/A", as: Float.self).shape == [6])
        #expect(try f.root.storedType(of: "types") == "int8")
        let names = try f.root.children().map(\.name)
        #expect(names == ["adapters", "empty", "floats", "ints", "offsets", "scalar", "types"])
    }

    @Test("hyperslab reads of row ranges, into arrays and into caller buffers")
    func partialReads() throws {
        let path = try temporaryDirectory().appendingPathComponent("rows.h5").path
        let f = try HDF5File.create(path)
        try f.root.write("m", (0..<50).map { Int32($0) }, shape: [10, 5])
        try f.root.write("v", (0..<100).map { Int64($0 * 3) })
        let rows = try f.root.readRows("m", rows: 3..<6, as: Int32.self)
        #expect(rows.shape == [3, 5] && rows.values == (15..<30).map { Int32($0) })
        var buf = [Int64](repeating: -1, count: 4)
        try buf.withUnsafeMutableBufferPointer { try f.root.readRows("v", rows: 96..<100, into: $0) }
        #expect(buf == [288, 291, 294, 297])
        #expect(try f.root.readRows("v", rows: 5..<5, as: Int64.self).values.isEmpty)
        expectHDF5Error(["/v", "rows 98..<101 outside 0..<100"]) { _ = try f.root.readRows("v", rows: 98..<101, as: Int64.self) }
        expectHDF5Error(["buffer holds 4 elements, rows need 3"]) {
            try buf.withUnsafeMutableBufferPointer { try f.root.readRows("v", rows: 0..<3, into: $0) }
        }
    }

    @Test("string and numeric attributes on the root and on datasets; h5py-style strings")
    func attributes() throws {
        let path = try temporaryDirectory().appendingPathComponent("attrs.h5").path
        do {
            let f = try HDF5File.create(path)
            try f.root.write("labels", [Int32(1), 0])
            try f.root.setAttribute("format", .string("dcft-dataset"))
            try f.root.setAttribute("format_version", .int(1))
            try f.root.setAttribute("task", .string("rte — ünïcødé"))
            try f.root.setAttribute("lr", .double(1.2e-3))
            try f.root.setAttribute("shape", .ints([3, 4]))
            try f.root.setAttribute("scales", .doubles([0.5, 2]), on: "labels")
            try f.root.setAttribute("format_version", .int(2))  // replace
            try f.close()
        }
        let f = try HDF5File.open(path)
        #expect(try f.root.attribute("format") == .string("dcft-dataset"))
        #expect(try f.root.attribute("format_version") == .int(2))
        #expect(try f.root.attribute("task") == .string("rte — ünïcødé"))
        #expect(try f.root.attribute("lr") == .double(1.2e-3))
        #expect(try f.root.attribute("shape") == .ints([3, 4]))
        #expect(try f.root.attribute("scales", on: "labels") == .doubles([0.5, 2]))
        #expect(try f.root.attributeNames() == ["format", "format_version", "lr", "shape", "task"])
        expectHDF5Error(["attrs.h5", "/@missing", "no such attribute"]) { _ = try f.root.attribute("missing") }
    }

    @Test("a missing dataset, a missing group and a wrong element type name the file and object")
    func missingObjects() throws {
        let path = try temporaryDirectory().appendingPathComponent("m.h5").path
        let f = try HDF5File.create(path)
        try f.root.write("x", [Float(1)])
        expectHDF5Error([path, "/nope", "no such dataset"]) { _ = try f.root.read("nope", as: Float.self) }
        expectHDF5Error([path, "/g", "no such group"]) { _ = try f.root.group("g") }
        expectHDF5Error([path, "/x", "holds float32, expected int32"]) { _ = try f.root.read("x", as: Int32.self) }
        expectHDF5Error([path, "/x", "already exists"]) { try f.root.write("x", [Float(2)]) }
        expectHDF5Error(["shape [3] does not match 1 elements"]) { try f.root.write("y", [Float(2)], shape: [3]) }
    }

    @Test("a missing file, a non-HDF5 file and a truncated file each give a clear error")
    func badFiles() throws {
        let dir = try temporaryDirectory()
        expectHDF5Error([dir.path + "/absent.h5", "no such file"]) { _ = try HDF5File.open(dir.path + "/absent.h5") }

        let text = dir.appendingPathComponent("text.h5")
        try Data("input_ids\t1 2 3\n".utf8).write(to: text)
        expectHDF5Error([text.path, "not an HDF5 file"]) { _ = try HDF5File.open(text.path) }

        let good = dir.appendingPathComponent("good.h5").path
        do {
            let f = try HDF5File.create(good)
            try f.root.write("big", (0..<100_000).map { Float($0) })
            try f.close()
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir.appendingPathComponent("cut.h5")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        expectHDF5Error([cut.path, "truncated"]) {
            let f = try HDF5File.open(cut.path)
            _ = try f.root.read("big", as: Float.self)
        }

        // Corrupted metadata: overwrite bytes just after the superblock.
        var broken = bytes
        for i in 96..<min(2048, broken.count) { broken[i] = 0xA5 }
        let bad = dir.appendingPathComponent("corrupt.h5")
        try broken.write(to: bad)
        expectHDF5Error([bad.path]) {
            let f = try HDF5File.open(bad.path)
            _ = try f.root.read("big", as: Float.self)
        }
    }

    @Test("create without overwrite refuses to clobber an existing file and leaves it intact")
    func noClobber() throws {
        let path = try temporaryDirectory().appendingPathComponent("keep.h5").path
        do { let f = try HDF5File.create(path); try f.root.write("x", [Int32(42)]); try f.close() }
        expectHDF5Error([path, "already exists"]) { _ = try HDF5File.create(path, overwrite: false) }
        #expect(try HDF5File.open(path).root.read("x", as: Int32.self).values == [42])
    }

    @Test("files written by h5py read back with their types and attributes", .enabled(if: h5pyAvailable))
    func readsH5py() throws {
        let path = try temporaryDirectory().appendingPathComponent("py.h5").path
        let script = """
            import h5py, numpy as np
            with h5py.File('\(path)', 'w') as f:
                f['ids'] = np.arange(12, dtype=np.int32).reshape(3, 4)
                f['w'] = np.linspace(0, 1, 5, dtype=np.float32)
                f.attrs['format'] = 'dcft-dataset'
                f.attrs['n'] = np.int64(7)
                f.attrs['fixed'] = np.bytes_(b'abc')
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let f = try HDF5File.open(path)
        let ids = try f.root.read("ids", as: Int32.self)
        #expect(ids.shape == [3, 4] && ids.values == (0..<12).map { Int32($0) })
        #expect(try f.root.read("w", as: Float.self).values == [0, 0.25, 0.5, 0.75, 1])
        #expect(try f.root.attribute("format") == .string("dcft-dataset"))
        #expect(try f.root.attribute("n") == .int(7))
        #expect(try f.root.attribute("fixed") == .string("abc"))
    }
}

/// Whether python3 with h5py is installed (it is in CI; see launch/install-deps.sh).
let h5pyAvailable: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import h5py"]
    p.standardError = FileHandle.nullDevice
    do { try p.run(); p.waitUntilExit(); return p.terminationStatus == 0 } catch { return false }
}()
