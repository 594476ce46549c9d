import ArgumentParser
import Foundation
import LikenessKit

struct ObjectsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objects", abstract: "List, remove, rename or import saved objects.",
        subcommands: [List.self, Remove.self, Rename.self, Import.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List saved objects (name, model, stale or not, created).")
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "The object gallery (default: $XDG_DATA_HOME/likeness/objects).") var gallery: String?
        @Option(help: "The model to check staleness against.") var model: String = "Models/toybox"

        func run() throws {
            let store = LikenessCLI.gallery(gallery)
            let entries: [GalleryEntry]
            do { entries = try store.list() } catch { fail("\(error)") }
            var identity: ModelIdentity?
            do { identity = try ModelIdentity(folder: URL(fileURLWithPath: model), cache: FingerprintCache()) } catch {
                warn("cannot check staleness: \(error)")
            }
            if json {
                let rows: [[String: Any]] = entries.map { row($0, identity) }
                do {
                    let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } catch { fail("cannot write JSON: \(error)") }
                return
            }
            if entries.isEmpty { print("no saved objects in \(store.directory.path)"); return }
            print(["NAME".padded(24), "MODEL".padded(14), "STATUS".padded(7), "CREATED".padded(20), "ORIGIN"].joined(separator: " "))
            for e in entries {
                switch e {
                case .object(let o):
                    let status = identity.map { o.isStale(for: $0) ? "stale" : "ok" } ?? "?"
                    print([o.name.padded(24), o.record.model.padded(14), status.padded(7), o.record.created.padded(20), o.record.origin].joined(separator: " "))
                case .damaged(let name, let reason):
                    print([name.padded(24), "?".padded(14), "damaged".padded(7), reason].joined(separator: " "))
                }
            }
        }

        private func row(_ e: GalleryEntry, _ identity: ModelIdentity?) -> [String: Any] {
            switch e {
            case .object(let o):
                var r: [String: Any] = ["name": o.name, "model": o.record.model, "created": o.record.created,
                                        "source": o.record.source, "origin": o.record.origin,
                                        "tokens": [o.tokenCount, o.hiddenSize], "path": o.folder.path, "damaged": false]
                if let identity { r["stale"] = o.isStale(for: identity) }
                return r
            case .damaged(let name, let reason):
                return ["name": name, "damaged": true, "reason": reason]
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a saved object.")
        @Argument(help: "The object's name.") var name: String
        @Option(help: "The object gallery.") var gallery: String?
        func run() throws {
            do { try LikenessCLI.gallery(gallery).remove(name) } catch { fail("\(error)") }
            print("removed \(name)")
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a saved object.")
        @Argument(help: "The current name.") var old: String
        @Argument(help: "The new name.") var new: String
        @Option(help: "The object gallery.") var gallery: String?
        func run() throws {
            do { try LikenessCLI.gallery(gallery).rename(old, to: new) } catch { fail("\(error)") }
            print("renamed \(old) to \(new)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import", abstract: "Import textual-inversion tokens (object_tokens [1, K, D]) as an object.")
        @Option(help: "A safetensors file with tensor object_tokens (python -m likeness_train textual-inversion --out).") var tokens: String
        @Option(help: "The object's name.") var name: String
        @Option(help: "The model the tokens were learned with.") var model: String = "Models/toybox"
        @Option(help: "The object gallery.") var gallery: String?
        @Flag(help: "Replace an existing object of the same name.") var replace = false
        func run() throws {
            do {
                try ObjectName.validate(name)
                let identity = try ModelIdentity(folder: URL(fileURLWithPath: model), cache: FingerprintCache())
                let (object, replaced) = try LikenessCLI.gallery(gallery).importTokens(
                    from: URL(fileURLWithPath: tokens), name: name, model: identity, replace: replace)
                print("\(replaced ? "replaced" : "imported") \(object.name) (\(object.tokenCount) tokens x \(object.hiddenSize)) at \(object.folder.path)")
            } catch { fail("\(error)") }
        }
    }
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : padding(toLength: n, withPad: " ", startingAt: 0) }
}
