// `dcft train` with one more adapter registered: the program the adapter-seam test runs under
// mpirun. Usage: toy-adapter-train --config FILE [--set key=value ...] [--resume auto] [--stop-after N]
import Foundation
import Collectives
import Model
import TestSupport
import Train

AdapterRegistry.register(ScalarGateOptions.self)   // the one registration line

var config: String?, overrides: [String] = [], resume: String?, stopAfter: Int?
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--config": config = args.next()
    case "--set": if let v = args.next() { overrides.append(v) }
    case "--resume": resume = args.next()
    case "--stop-after": stopAfter = args.next().flatMap(Int.init)
    default: fputs("unknown argument \(a)\n", stderr); exit(2)
    }
}
let comm: Communicator
do { comm = try Communicator.world() } catch { fputs("\(error)\n", stderr); exit(2) }
do {
    let trainer = try Trainer(config: try TrainConfig.load(file: config, overrides: overrides), comm: comm, resume: resume)
    let s = try trainer.run(stopAfter: stopAfter)
    if comm.rank == 0 { print("done: \(s.steps) steps; final loss \(s.finalLoss)") }
} catch {
    if comm.size > 1 { comm.abort("\(error)") }
    fputs("toy-adapter-train: \(error)\n", stderr)
    exit(1)
}
