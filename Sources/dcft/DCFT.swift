import ArgumentParser

/// `dcft`: fine-tune transformer encoders with DCFT adapters, data-parallel over MPI.
@main
struct DCFT: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dcft",
        abstract: "Fine-tune transformer encoders with DCFT adapters, data-parallel over MPI.",
        discussion: """
            Launch training under MPI, e.g.
              mpirun -np 2 dcft train --config configs/glue/rte.yaml
            See README.md for the set-up commands and every subcommand's options.
            """,
        version: version,
        subcommands: [Prepare.self, TrainCommand.self, Eval.self, Predict.self, Merge.self, Bench.self, Inspect.self, Plot.self]
    )
}

/// A subcommand whose implementation has not landed yet: it says so and exits non-zero.
protocol PlannedCommand: ParsableCommand {
    /// Which issue in the tracker delivers it.
    static var plannedIn: String { get }
}

extension PlannedCommand {
    func run() throws {
        let name = Self._commandName
        throw NotYetBuilt(message: "dcft \(name) is not built yet (planned in \(Self.plannedIn)).")
    }
}

struct NotYetBuilt: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}


