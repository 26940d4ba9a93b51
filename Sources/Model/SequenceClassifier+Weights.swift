import TensorCore

extension SequenceClassifier {
    /// Tensors a pretrained checkpoint may carry that this model does not use (buffers and
    /// pre-training heads); they are ignored rather than reported as unexpected.
    static let ignorablePrefixes = ["cls.", "lm_head.", "pooler.", "bert.pooler.", "roberta.pooler.", "lm_predictions.",
                                    "mask_predictions.", "deberta.embeddings.position_embeddings."]
    static let ignorableSuffixes = ["position_ids"]

    /// Whether `name` is a head or adapter tensor that is initialised when the source lacks it.
    func isInitialisable(_ name: String, adapterNames: Set<String>) -> Bool {
        let head = config.architecture.family.head
        return name.hasPrefix(head.projection + ".") || adapterNames.contains(name)
            || (head.denseInitialisable && name.hasPrefix(head.dense + "."))
    }

    /// Loads pretrained weights. Each registered tensor is looked up by its full name
    /// ("bert.encoder.layer.0…") or without the model prefix ("encoder.layer.0…", as
    /// `BertModel` checkpoints store them). Encoder tensors are required; head and adapter
    /// tensors load when present with the right shape (a fine-tuned checkpoint) and are
    /// otherwise left for `initializeTrainable`. Every missing, unexpected or mis-shaped tensor is reported
    /// in one `WeightLoadError`.
    ///
    /// - Returns: the names that were loaded.
    @discardableResult
    public func load(from source: WeightSource, sourceName: String) throws -> Set<String> {
        var err = WeightLoadError(source: sourceName)
        var loaded = Set<String>(), used = Set<String>()
        let available = Set(source.tensorNames)
        let adapterNames = adapterParameterNames
        func isInitialisable(_ name: String) -> Bool { self.isInitialisable(name, adapterNames: adapterNames) }
        for e in store.entries {
            let short = e.name.hasPrefix(prefix) ? String(e.name.dropFirst(prefix.count)) : e.name
            guard let key = [e.name, short].first(where: { available.contains($0) }) else {
                if !isInitialisable(e.name) { err.missing.append(e.name) }
                continue
            }
            used.insert(key)
            let shape = source.tensorShape(key) ?? []
            guard shape == e.shape else {
                // A head of another label count (a checkpoint fine-tuned on another task) is
                // re-initialised, as transformers' ignore_mismatched_sizes does; the encoder must fit.
                if !isInitialisable(e.name) { err.misshaped.append((e.name, e.shape, shape)) }
                continue
            }
            store.set(e.name, try source.tensorFloats(key))
            loaded.insert(e.name)
        }
        for name in source.tensorNames.sorted() where !used.contains(name) {
            let ignorable = Self.ignorablePrefixes.contains { name.hasPrefix($0) }
                || Self.ignorableSuffixes.contains { name.hasSuffix($0) }
            if !ignorable { err.unexpected.append(name) }
        }
        if !err.isEmpty { throw err }
        conv?.kernelReady = false   // its rearranged kernel is rebuilt from the loaded weights
        initialised = loaded
        return loaded
    }

    /// Initialises every trainable tensor that was not loaded: DCFT A, B, C ~ N(0, σ²)
    /// (the reference code's init), LoRA as PEFT, head weights ~ N(0, 0.02²) with zero
    /// biases (transformers' `initializer_range`). Draws in registration order from `rng`.
    public func initializeTrainable(rng: inout SeededRNG, skip: Set<String>? = nil) {
        let skip = skip ?? initialised
        for a in adapters where !a.parameterNames.contains(where: skip.contains) { a.initialize(store: store, rng: &rng) }
        for lin in [head.dense, head.projection] where !skip.contains(lin.name + ".weight") {
            rng.fillNormal(UnsafeMutableBufferPointer(start: store.values(lin.weight), count: lin.weight.count), std: Float(0.02))
            store.values(lin.bias).update(repeating: 0, count: lin.bias.count)
        }
    }
}
