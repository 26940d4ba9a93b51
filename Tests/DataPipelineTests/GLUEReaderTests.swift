import Testing
import Foundation
@testable import DataPipeline

@Suite("GLUE and JSONL readers")
struct GLUEReaderTests {
    /// Row counts and label counts published for GLUE (and listed in datasets/glue/SOURCES.md).
    @Test("real GLUE files: row counts and label distributions match the published figures",
          arguments: [
            (GLUETask.rte, "train.tsv", 2490, [1249, 1241]), (.rte, "dev.tsv", 277, [146, 131]),
            (.cola, "train.tsv", 8551, [2528, 6023]), (.cola, "dev.tsv", 1043, [322, 721]),
            (.sst2, "train.tsv", 67349, [29780, 37569]), (.sst2, "dev.tsv", 872, [428, 444]),
            (.mrpc, "train.tsv", 3668, [1194, 2474]), (.mrpc, "dev.tsv", 408, [129, 279]),
          ])
    func realCounts(task: GLUETask, file: String, rows: Int, labelCounts: [Int]) throws {
        let r = try GLUEReader.read(task: task, file: TestPaths.glue(task.folderName, file))
        #expect(r.examples.count == rows)
        #expect(r.skipped.isEmpty)
        let counts = (0..<labelCounts.count).map { c in r.examples.filter { $0.label == Float(c) }.count }
        #expect(counts == labelCounts)
        #expect(r.examples.allSatisfy { ($0.textB != nil) == task.isPair })
    }

    @Test("MRPC's byte-order mark is skipped; first RTE and STS-B rows read field by field")
    func firstRows() throws {
        let mrpc = try GLUEReader.read(task: .mrpc, file: TestPaths.glue("MRPC", "dev.tsv")).examples[0]
        #expect(mrpc.line == 2 && mrpc.label == 1)
        #expect(mrpc.textA.hasPrefix("He said the foodservice pie business"))
        let rte = try GLUEReader.read(task: .rte, file: TestPaths.glue("RTE", "dev.tsv")).examples[0]
        #expect(rte.textA.hasPrefix("Dana Reeve, the widow of the actor Christopher Reeve"))
        #expect(rte.textB == "Christopher Reeve had an accident." && rte.label == 1)  // not_entailment
        let sts = try GLUEReader.read(task: .stsb, file: TestPaths.glue("STS-B", "dev.tsv"))
        #expect(sts.examples.count == 1500)
        #expect(sts.examples[0].textA == "A man with a hard hat is dancing.")
        #expect(sts.examples[0].textB == "A man wearing a hard hat is dancing." && sts.examples[0].label == 5.0)
        #expect(sts.examples.allSatisfy { ($0.label ?? -1) >= 0 && ($0.label ?? 9) <= 5 })
    }

    @Test("MNLI (12- and 16-column files), QQP and QNLI fixtures in the official layouts")
    func otherLayouts() throws {
        let f = TestPaths.fixtures + "/glue"
        let train = try GLUEReader.read(task: .mnli, file: f + "/MNLI/train.tsv").examples
        #expect(train.map(\.label) == [1, 0, 0, 0, 2])  // neutral, entailment ×3, contradiction
        #expect(train[0].textB == "Product and geography are what make cream skimming work. ")
        let dm = try GLUEReader.read(task: .mnli, file: f + "/MNLI/dev_matched.tsv").examples
        #expect(dm.map(\.label) == [1, 2, 0])  // gold_label (last column), not label1
        let mm = try GLUEReader.read(task: .mnli, file: f + "/MNLI/dev_mismatched.tsv").examples
        #expect(mm.count == 2 && mm[1].textA.contains("`operate'"))
        let qqp = try GLUEReader.read(task: .qqp, file: f + "/QQP/train.tsv").examples
        #expect(qqp.map(\.label) == [0, 1, 0, 1] && qqp[1].textA == "How do I control my horny emotions?")
        let qnli = try GLUEReader.read(task: .qnli, file: f + "/QNLI/dev.tsv").examples
        #expect(qnli.map(\.label) == [0, 1] && qnli[0].textA == "What came into force after the new constitution was herald?")
    }

    @Test("malformed rows name the file, line and problem; --skip-bad counts them instead")
    func malformed() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir + "/train.tsv"
        try "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tonly two\n2\tc\td\tmaybe\n3\t \te\tentailment\n4\tf\tg\tnot_entailment\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: DataError(file: path, line: 3, problem: "expected at least 4 tab-separated columns, found 2")) {
            try GLUEReader.read(task: .rte, file: path)
        }
        let r = try GLUEReader.read(task: .rte, file: path, skipBad: true)
        #expect(r.examples.map(\.line) == [2, 6])
        #expect(r.skipped.map(\.line) == [3, 4, 5])
        #expect(r.skipped[1].problem == "label \"maybe\" is not one of entailment, not_entailment")
        #expect(r.skipped[2].problem == "empty text in column 2 (sentence1)")
        #expect(throws: DataError.self) { try GLUEReader.read(task: .qnli, file: path) }  // no "question" column
        #expect(throws: DataError(file: dir + "/absent.tsv", line: 0, problem: "no such file")) {
            try GLUEReader.read(task: .rte, file: dir + "/absent.tsv")
        }
    }

    @Test("a GLUE test split without a label column reads unlabelled")
    func unlabelled() throws {
        let path = try TestPaths.temporaryDirectory() + "/test.tsv"
        try "index\tsentence1\tsentence2\n0\ta\tb\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try GLUEReader.read(task: .rte, file: path).examples == [Example(textA: "a", textB: "b", label: nil, line: 2)])
    }

    @Test("JSONL with named fields, string and numeric labels, and errors with line numbers")
    func jsonl() throws {
        let path = try TestPaths.temporaryDirectory() + "/d.jsonl"
        try """
            {"premise": "A man sleeps.", "hypothesis": "Someone rests.", "label": "entailment"}

            {"premise": "Ünïcødé ✓", "hypothesis": "x", "label": 2}
            {"premise": "no label", "hypothesis": "y"}
            {"premise": "bad", "hypothesis": "z", "label": "maybe"}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let reader = JSONLReader(textField: "premise", pairField: "hypothesis", labelField: "label",
                                 labelNames: ["entailment", "neutral", "contradiction"])
        #expect(throws: DataError(file: path, line: 5, problem: "label \"maybe\" is not one of [entailment, neutral, contradiction]")) {
            try reader.read(file: path)
        }
        let r = try reader.read(file: path, skipBad: true)
        #expect(r.examples.map(\.label) == [0, 2, nil])
        #expect(r.examples[1].textA == "Ünïcødé ✓" && r.examples[1].line == 3)
        #expect(r.skipped.count == 1)
        try "{\"text\": 5}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: DataError(file: path, line: 1, problem: "missing or empty string field \"text\"")) {
            try JSONLReader().read(file: path)
        }
        try "{not json\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: DataError(file: path, line: 1, problem: "invalid JSON")) { try JSONLReader().read(file: path) }
    }

    @Test("predict's reader follows what the model was trained on and refuses mismatched rows, naming line and field")
    func predictionReader() throws {
        let path = try TestPaths.temporaryDirectory() + "/in.jsonl"
        try """
            {"text": "A man sleeps.", "text_pair": "Someone rests."}
            {"text": "The cat sat.", "text_pair": "A cat is sitting."}
            {"text": "No pair here."}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        // A pair model (GLUE MRPC): text_pair by default; the third row lacks it.
        let pair = try JSONLReader.forPrediction(trainedOn: GLUETask.mrpc.inputFields, task: "mrpc", source: "a.safetensors",
                                                 textOption: nil, pairOption: nil)
        #expect(throws: DataError(file: path, line: 3, problem: "missing string field \"text_pair\": the model was trained on sentence pairs (task mrpc)")) {
            try pair.read(file: path)
        }
        let two = try pair.read(file: path, skipBad: true)
        #expect(two.examples.map(\.textB) == ["Someone rests.", "A cat is sitting."] && two.skipped.count == 1)
        // A single-sentence model (SST-2): rows with text_pair are refused, --pair-field too.
        let single = try JSONLReader.forPrediction(trainedOn: GLUETask.sst2.inputFields, task: "sst2", source: "a.safetensors",
                                                   textOption: nil, pairOption: nil)
        #expect(throws: DataError(file: path, line: 1, problem: "field \"text_pair\" is present: the model was trained on single sentences (task sst2)")) {
            try single.read(file: path)
        }
        #expect(throws: DataError(file: "a.safetensors", line: 0, problem: "the model was trained on single sentences (task sst2); --pair-field text_pair does not apply")) {
            try JSONLReader.forPrediction(trainedOn: GLUETask.sst2.inputFields, task: "sst2", source: "a.safetensors",
                                          textOption: nil, pairOption: "text_pair")
        }
        // A JSONL task's own field names are the defaults; options still win.
        let custom = try JSONLReader.forPrediction(trainedOn: InputFields(text: "premise", pair: "hypothesis"), task: "nli",
                                                   source: "a.safetensors", textOption: nil, pairOption: nil)
        #expect(custom.textField == "premise" && custom.pairField == "hypothesis")
        let overridden = try JSONLReader.forPrediction(trainedOn: InputFields(text: "premise", pair: "hypothesis"), task: "nli",
                                                       source: "a.safetensors", textOption: "text", pairOption: "text_pair")
        #expect(try overridden.read(file: path, skipBad: true).examples.count == 2)
        // Nothing recorded: text_pair is refused unless --pair-field asks for pairs.
        let unknown = try JSONLReader.forPrediction(trainedOn: nil, task: "", source: "a.safetensors", textOption: nil, pairOption: nil)
        #expect(throws: DataError(file: path, line: 1, problem: "field \"text_pair\" is present: the model does not record whether it takes sentence pairs; pass --pair-field text_pair to read pairs")) {
            try unknown.read(file: path)
        }
        let asked = try JSONLReader.forPrediction(trainedOn: nil, task: "", source: "a.safetensors", textOption: nil, pairOption: "text_pair")
        #expect(try asked.read(file: path, skipBad: true).examples.count == 2)
    }

    @Test("SHA-256 matches NIST vectors and hashlib on a real file")
    func sha256() throws {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // SOURCES.md lists the sha256 of each GLUE file (computed with hashlib).
        #expect(try SHA256.hex(file: TestPaths.glue("RTE", "dev.tsv"))
                == "80230dfa1347282e7b532b06a1004a76a710087541189bf874223ddf0e3819fb")
    }

    /// Every GLUE file the repository ships is byte-identical to the one its SOURCES.md lists,
    /// and SOURCES.md lists all ten (so a partial clone or an edited file is caught here).
    @Test("shipped GLUE files match datasets/glue/SOURCES.md")
    func shippedFilesMatchSources() throws {
        let sources = try String(contentsOfFile: TestPaths.shippedGLUE + "/SOURCES.md", encoding: .utf8)
        let rows = sources.split(separator: "\n").compactMap { line -> (String, String)? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 4, cells[0].hasSuffix(".tsv"), cells[3].count == 64 else { return nil }
            return (cells[0], cells[3])
        }
        #expect(rows.count == 10)
        for (file, digest) in rows {
            let path = TestPaths.shippedGLUE + "/" + file
            #expect(FileManager.default.fileExists(atPath: path), "missing \(path)")
            #expect(try SHA256.hex(file: path) == digest, "\(path)")
        }
    }
}

extension DataError: Equatable {
    public static func == (a: DataError, b: DataError) -> Bool {
        a.file == b.file && a.line == b.line && a.problem == b.problem
    }
}
