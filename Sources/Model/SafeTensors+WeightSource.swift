/// A safetensors file is a source of pretrained weights.
extension SafeTensorsFile: WeightSource {
    public var tensorNames: [String] { names }
    public func tensorShape(_ name: String) -> [Int]? { try? info(name).shape }
    public func tensorFloats(_ name: String) throws -> [Float] { try floats(name) }
}
