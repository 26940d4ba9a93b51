import Testing
import Foundation
@testable import DataPipeline

@Suite("dcft prepare pipeline", .serialized)
struct DatasetPreparerTests {
    let tokenizer: Tokenizer
    init() throws { tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: TestPaths.fixtures + "/minilm")) }

    @Test("RTE dev end to end: ids as the tokenizer gives them, labels, self-describing attributes")
    func rte() throws {
        let out = try TestPaths.temporaryDirectory() + "/rte/dev"
        let file = TestPaths.glue("RTE", "dev.tsv")
        let read = try GLUEReader.read(task: .rte, file: file)
        let report = try DatasetPreparer.prepare(
            examples: read, sourceFile: file, task: "rte", split: "dev", labelNames: GLUETask.rte.labelNames,
            numLabels: 2, isRegression: false, tokenizer: tokenizer, tokenizerSHA256: "tok", maxLength: 64,
            outDirectory: out, shards: 3, threads: 2)
        #expect(report.examples == 277)
        let ds = try TokenizedDataset(directory: out)
        #expect(ds.count == 277 && ds.metadata.shardCount == 3 && ds.metadata.maxLength == 64)
        #expect(ds.metadata.sourceSHA256 == "80230dfa1347282e7b532b06a1004a76a710087541189bf874223ddf0e3819fb")
        #expect(ds.labels == read.examples.map { $0.label! })
        #expect(ds.lengths.allSatisfy { $0 <= 64 })
        for i in [0, 100, 276] {
            let want = tokenizer.encode(read.examples[i].textA, read.examples[i].textB!, maxLength: 64)
            let got = try ds.example(i)
            #expect(got.inputIDs == want.inputIDs && got.tokenTypeIDs == want.tokenTypeIDs)
        }
        #expect(try ds.example(0).inputIDs.first == 101)  // [CLS]
    }

    @Test("MNLI fixtures: three splits, three classes; STS-B keeps float scores")
    func mnliAndStsb() throws {
        let root = try TestPaths.temporaryDirectory()
        for split in GLUETask.mnli.labelledSplits {
            let file = TestPaths.fixtures + "/glue/MNLI/\(split).tsv"
            _ = try DatasetPreparer.prepare(examples: try GLUEReader.read(task: .mnli, file: file), sourceFile: file, task: "mnli",
                                            split: split, labelNames: GLUETask.mnli.labelNames, numLabels: 3, isRegression: false,
                                            tokenizer: tokenizer, tokenizerSHA256: "t", maxLength: 128, outDirectory: "\(root)/mnli/\(split)",
                                            shards: 1, threads: 1)
        }
        #expect(try TokenizedDataset(directory: root + "/mnli/dev_matched").labels == [1, 2, 0])
        let file = TestPaths.glue("STS-B", "dev.tsv")
        _ = try DatasetPreparer.prepare(examples: try GLUEReader.read(task: .stsb, file: file), sourceFile: file, task: "stsb",
                                        split: "dev", labelNames: [], numLabels: 1, isRegression: true, tokenizer: tokenizer,
                                        tokenizerSHA256: "t", maxLength: 128, outDirectory: root + "/stsb/dev", shards: 1, threads: 2)
        let sts = try TokenizedDataset(directory: root + "/stsb/dev")
        #expect(sts.metadata.isRegression && sts.labels[0] == 5.0 && sts.count == 1500)
    }

    @Test("parallel encoding gives the same ids as serial encoding, in input order")
    func parallelOrder() throws {
        let read = try GLUEReader.read(task: .cola, file: TestPaths.glue("CoLA", "dev.tsv"))
        let a = DatasetPreparer.encode(read.examples, tokenizer: tokenizer, maxLength: 64, threads: 1)
        let b = DatasetPreparer.encode(read.examples, tokenizer: tokenizer, maxLength: 64, threads: 4)
        #expect(a == b && a.count == 1043)
    }

    @Test("a DeBERTa-v3 style Unigram model directory (spm.model only): pad id and special tokens from the tokenizer")
    func unigramModelDirectory() throws {
        let model = try TestPaths.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestPaths.fixtures + "/deberta-unigram/spm.model", toPath: model + "/spm.model")
        let unigram = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let out = try TestPaths.temporaryDirectory() + "/rte/dev"
        let file = TestPaths.glue("RTE", "dev.tsv")
        let read = try GLUEReader.read(task: .rte, file: file)
        _ = try DatasetPreparer.prepare(
            examples: read, sourceFile: file, task: "rte", split: "dev", labelNames: GLUETask.rte.labelNames,
            numLabels: 2, isRegression: false, tokenizer: unigram, tokenizerSHA256: "tok", maxLength: 64,
            outDirectory: out, shards: 1, threads: 2)
        let ds = try TokenizedDataset(directory: out)
        #expect(ds.count == 277 && ds.metadata.padTokenID == 0)
        #expect(ds.metadata.tokenizerName == "unigram:spm.model")
        let first = try ds.example(0)
        let want = unigram.encode(read.examples[0].textA, read.examples[0].textB!, maxLength: 64)
        #expect(first.inputIDs == want.inputIDs && first.tokenTypeIDs == want.tokenTypeIDs)
        #expect(first.inputIDs.first == 1 && first.inputIDs.last == 2)  // [CLS] … [SEP]
        #expect(first.tokenTypeIDs.last == 1)
    }
}
