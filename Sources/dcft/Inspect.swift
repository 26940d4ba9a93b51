import ArgumentParser
import HDF5Kit

/// `dcft inspect FILE.h5`: prints the groups, datasets (shape, type) and attributes
/// of an HDF5 file written by dcft (datasets, checkpoints) or anyone else.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the structure and attributes of an HDF5 dataset or checkpoint.")

    @Argument(help: "The HDF5 file to describe.")
    var file: String

    @Option(help: "Deepest group level to descend into.")
    var depth: Int = 8

    func run() throws {
        let f = try HDF5File.open(file)
        print(file)
        try describe(f.root, indent: "  ", level: 0)
    }

    private func describe(_ group: HDF5Group, indent: String, level: Int) throws {
        for name in try group.attributeNames() {
            print("\(indent)@\(name) = \(try group.attribute(name))")
        }
        for child in try group.children() {
            switch child.kind {
            case .group:
                print("\(indent)\(child.name)/")
                if level < depth { try describe(try group.group(child.name), indent: indent + "  ", level: level + 1) }
            case .dataset:
                let shape = try group.shape(of: child.name)
                print("\(indent)\(child.name)  \(try group.storedType(of: child.name)) \(shape)")
                for a in try group.attributeNames(on: child.name) {
                    print("\(indent)  @\(a) = \(try group.attribute(a, on: child.name))")
                }
            case .other:
                print("\(indent)\(child.name)  (other object)")
            }
        }
    }
}
