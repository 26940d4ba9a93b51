import Testing
import Foundation
import HDF5Kit
@testable import DataPipeline

func sampleMetadata(regression: Bool = false) -> DatasetMetadata {
    DatasetMetadata(task: regression ? "stsb" : "rte", split: "train", tokenizerName: "bert-wordpiece:vocab.txt",
                    tokenizerSHA256: "abc123", maxLength: 16, numLabels: regression ? 1 : 2,
                    labelNames: regression ? [] : ["entailment", "not_entailment"], isRegression: regression,
                    hasLabels: true, numExamples: 0, sourceSHA256: "def456", padTokenID: 0)
}

/// Example i has i % 7 + 2 tokens: [101, i, i+1, ...] and type ids 0/1 halves.
func sampleRows(_ n: Int) -> [TokenizedDatasetWriter.Row] {
    (0..<n).map { i in
        let len = i % 7 + 2
        let ids = [Int32(101)] + (1..<len).map { Int32(i * 10 + $0) }
        let types = (0..<len).map { Int32($0 >= len / 2 ? 1 : 0) }
        return .init(inputIDs: ids, tokenTypeIDs: types, label: Float(i % 2))
    }
}

@Suite("Tokenized HDF5 dataset", .serialized)
struct TokenizedDatasetTests {
    @Test("round trip through 1 and 3 shards: ids, type ids, labels, lengths, attributes", arguments: [1, 3])
    func roundTrip(shards: Int) throws {
        let dir = try TestPaths.temporaryDirectory() + "/rte/train"
        let rows = sampleRows(10)
        try TokenizedDatasetWriter.write(rows, metadata: sampleMetadata(), to: dir, shards: shards)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                == (0..<shards).map { TokenizedDatasetFormat.shardName($0, of: shards) })
        let ds = try TokenizedDataset(directory: dir)
        #expect(ds.count == 10 && ds.metadata.numExamples == 10 && ds.metadata.shardCount == shards)
        #expect(ds.lengths == rows.map(\.inputIDs.count))
        #expect(ds.labels == rows.map { $0.label! })
        for i in 0..<10 {
            let e = try ds.example(i)
            #expect(e.inputIDs == rows[i].inputIDs && e.tokenTypeIDs == rows[i].tokenTypeIDs)
        }
        let f = try HDF5File.open(dir + "/" + TokenizedDatasetFormat.shardName(0, of: shards))
        #expect(try f.root.attribute("format") == .string("dcft-tokenized"))
        #expect(try f.root.attribute("format_version") == .int(1))
        #expect(try f.root.storedType(of: "token_type_ids") == "int8")
        #expect(try f.root.storedType(of: "labels") == "int32")
    }

    @Test("a batch is padded to its longest example, with mask, lengths and labels")
    func batchPadding() throws {
        let dir = try TestPaths.temporaryDirectory() + "/ds"
        try TokenizedDatasetWriter.write(sampleRows(10), metadata: sampleMetadata(), to: dir, shards: 2)
        let ds = try TokenizedDataset(directory: dir)
        let b = try ds.batch([7, 3], valid: [true, false])  // lengths 2 and 5
        #expect(b.rows == 2 && b.length == 5)
        #expect(b.inputIDs == [101, 71, 0, 0, 0, 101, 31, 32, 33, 34])
        #expect(b.tokenTypeIDs == [0, 1, 0, 0, 0, 0, 0, 1, 1, 1])
        #expect(b.attentionMask == [1, 1, 0, 0, 0, 1, 1, 1, 1, 1])
        #expect(b.lengths == [2, 5] && b.labels == [1, 1] && b.valid == [true, false] && b.tokenCount == 7)
    }

    @Test("input fields round-trip as text_field/pair_field; older datasets fall back on the GLUE task")
    func inputFields() throws {
        let root = try TestPaths.temporaryDirectory()
        var m = sampleMetadata()
        m.inputFields = InputFields(text: "premise", pair: "hypothesis")
        try TokenizedDatasetWriter.write(sampleRows(4), metadata: m, to: root + "/pairs")
        #expect(try TokenizedDataset(directory: root + "/pairs").metadata.inputFields == InputFields(text: "premise", pair: "hypothesis"))
        m.inputFields = InputFields(text: "sentence")
        try TokenizedDatasetWriter.write(sampleRows(4), metadata: m, to: root + "/single")
        let single = try TokenizedDataset(directory: root + "/single").metadata
        #expect(single.inputFields == InputFields(text: "sentence", pair: nil))
        #expect(try HDF5File.open(root + "/single/" + TokenizedDatasetFormat.shardName(0, of: 1)).root.attribute("pair_field") == .string(""))
        // Written without the attributes (as before they existed): unknown, GLUE task decides.
        m.inputFields = nil
        try TokenizedDatasetWriter.write(sampleRows(4), metadata: m, to: root + "/old")
        let old = try TokenizedDataset(directory: root + "/old").metadata
        #expect(old.inputFields == nil)
        #expect(old.effectiveInputFields == InputFields(text: "text", pair: "text_pair"))  // rte: pairs
        m.task = "sst2"
        #expect(m.effectiveInputFields == InputFields(text: "text", pair: nil))
        m.task = "my-jsonl-task"
        #expect(m.effectiveInputFields == nil)
    }

    @Test("regression labels are float32")
    func regression() throws {
        let dir = try TestPaths.temporaryDirectory() + "/stsb"
        var rows = sampleRows(3)
        for i in rows.indices { rows[i].label = Float(i) * 1.25 }
        try TokenizedDatasetWriter.write(rows, metadata: sampleMetadata(regression: true), to: dir)
        let ds = try TokenizedDataset(directory: dir)
        #expect(ds.labels == [0, 1.25, 2.5])
        #expect(try HDF5File.open(dir + "/" + TokenizedDatasetFormat.shardName(0, of: 1)).root.storedType(of: "labels") == "float32")
    }

    @Test("rewriting replaces the old dataset; a failed write leaves it intact and no temporary behind")
    func atomicReplace() throws {
        let parent = try TestPaths.temporaryDirectory()
        let dir = parent + "/ds"
        try TokenizedDatasetWriter.write(sampleRows(4), metadata: sampleMetadata(), to: dir, shards: 2)
        try TokenizedDatasetWriter.write(sampleRows(6), metadata: sampleMetadata(), to: dir, shards: 1)
        #expect(try TokenizedDataset(directory: dir).count == 6)
        #expect(throws: DataError.self) { try TokenizedDatasetWriter.write(sampleRows(3), metadata: sampleMetadata(), to: dir, shards: 0) }
        #expect(try TokenizedDataset(directory: dir).count == 6)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["ds"])
    }

    @Test("readers refuse: missing directory, missing shard, wrong version, foreign HDF5, mismatched tokenizer")
    func refusals() throws {
        let root = try TestPaths.temporaryDirectory()
        #expect(throws: DataError.self) { try TokenizedDataset(directory: root + "/none") }

        let three = root + "/three"
        try TokenizedDatasetWriter.write(sampleRows(9), metadata: sampleMetadata(), to: three, shards: 3)
        try FileManager.default.removeItem(atPath: three + "/" + TokenizedDatasetFormat.shardName(1, of: 3))
        do { _ = try TokenizedDataset(directory: three); Issue.record("missing shard accepted") } catch let e as DataError {
            #expect(e.problem.contains("a shard is missing or extra"))
        }

        let v = root + "/v"
        try TokenizedDatasetWriter.write(sampleRows(2), metadata: sampleMetadata(), to: v)
        do {
            let f = try HDF5File.open(v + "/" + TokenizedDatasetFormat.shardName(0, of: 1), writable: true)
            try f.root.setAttribute("format_version", .int(99))
            try f.close()
        }
        do { _ = try TokenizedDataset(directory: v); Issue.record("version 99 accepted") } catch let e as DataError {
            #expect(e.problem.contains("format_version 99 is not supported"))
        }

        let foreign = root + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        do { let f = try HDF5File.create(foreign + "/shard-00000-of-00001.h5"); try f.root.write("x", [Int32(1)]); try f.close() }
        #expect(throws: HDF5Error.self) { try TokenizedDataset(directory: foreign) }  // no "format" attribute

        let ok = root + "/ok"
        try TokenizedDatasetWriter.write(sampleRows(2), metadata: sampleMetadata(), to: ok)
        let ds = try TokenizedDataset(directory: ok)
        try ds.require(tokenizerSHA256: "abc123", maxLength: 512, task: "rte", numLabels: 2)
        do { try ds.require(tokenizerSHA256: "ffff"); Issue.record("tokenizer mismatch accepted") } catch let e as DataError {
            #expect(e.problem.contains("tokenizer sha256 abc123"))
        }
        #expect(throws: DataError.self) { try ds.require(maxLength: 8) }
        #expect(throws: DataError.self) { try ds.require(numLabels: 3) }
    }
}
