import Testing
import Foundation
import TensorCore
@testable import Model

/// The last layer's first-token-only path (`ModelOptions.firstTokenLastLayer`, on by default)
/// against the full last layer: with dropout active, the same logits, loss and gradient of every
/// trainable tensor up to float summation order, and the same evaluation logits. (The goldens
/// in `GoldenTests` check the first-token path against Hugging Face without dropout.)
@Suite("First-token last layer")
struct FirstTokenLastLayerTests {
    @Test("training step with dropout 0.1 and evaluation equal the full last layer",
          arguments: ["bert-dcft-d8", "bert-dcft-d2", "bert-lora-r4", "bert-full", "bert-head-only", "roberta-dcft-d8"])
    func matchesFullLastLayer(name: String) throws {
        let g = try Golden(name)
        let shape = g.json["batch"] as! [Int]
        let ids = g.ints("input_ids"), types = g.ints("token_type_ids"), mask = g.ints("attention_mask").map(Float.init)
        func run(firstToken: Bool) throws -> (train: [Float], loss: Float, grads: [Float], eval: [Float]) {
            let model = try goldenModel(g, dropout: 0.1, firstTokenLastLayer: firstToken)
            var rng = SeededRNG(seed: 5)
            model.store.gradients.zero()
            let k = g.int("num_labels"), n = shape[0] * k
            let train = Array(UnsafeBufferPointer(start: try model.forward(inputIDs: ids, tokenTypeIDs: types, attentionMask: mask,
                                                                           batch: shape[0], length: shape[1], training: true, rng: &rng),
                                                  count: n))
            let (loss, dLogits) = try model.loss(labels: g.floats("labels"))
            #expect(model.layers.last!.acts.firstTokenOnly == firstToken, "the option reached the last layer")
            #expect(model.layers.dropLast().allSatisfy { !$0.acts.firstTokenOnly })
            model.backward(dLogits: dLogits)
            let grads = Array(UnsafeBufferPointer(start: model.store.gradients.pointer, count: model.store.trainableParameterCount))
            let eval = Array(UnsafeBufferPointer(start: try model.forward(inputIDs: ids, tokenTypeIDs: types, attentionMask: mask,
                                                                          batch: shape[0], length: shape[1], training: false, rng: &rng),
                                                 count: n))
            return (train, loss, grads, eval)
        }
        let full = try run(firstToken: false), first = try run(firstToken: true)
        expectTensorClose(first.train, full.train, rtol: 1e-5, atolScale: 1e-6, "\(name) training logits")
        expectTensorClose(first.eval, full.eval, rtol: 1e-5, atolScale: 1e-6, "\(name) evaluation logits")
        #expect(abs(first.loss - full.loss) <= 1e-6 * max(1, abs(full.loss)), "\(name) loss \(first.loss) vs \(full.loss)")
        expectTensorClose(first.grads, full.grads, rtol: 1e-4, atolScale: 1e-5, "\(name) gradients")
        #expect(full.grads.contains { $0 != 0 }, "\(name): the step produced gradients")
        // Dropout was active: the training logits differ from the evaluation ones.
        #expect(first.train != first.eval, "\(name): dropout active in training")
    }
}
