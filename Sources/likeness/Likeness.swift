// The `likeness` executable: parses flags and calls the libraries; nothing else lives here.

import ArgumentParser
import Foundation

@main
struct LikenessCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "likeness",
        abstract: "Put your object into new pictures without fine-tuning.",
        subcommands: [GenerateCommand.self, EncodeCommand.self, ObjectsCommand.self, ParamsCommand.self, InfoCommand.self, StudioCommand.self])
}

/// Prints `message` to standard error and exits with status 1 (input errors, missing files).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("likeness: \(message)\n".utf8))
    Foundation.exit(1)
}
