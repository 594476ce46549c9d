// The last session (prompt, negative prompt, active object, settings, and the layout: focused
// pane, the screen shown (studio or history) and the selected gallery row) and the
// settings, kept as JSON under $XDG_CONFIG_HOME/likeness and written atomically (temp + rename),
// so a crash mid-write leaves the previous file.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

public struct SessionData: Codable, Equatable, Sendable {
    public var prompt: String
    public var negative: String
    public var object: String?
    public var settings: StudioSettings
    public var focus: Pane
    public var selectedObject: Int
    /// The screen shown at exit (the studio or the history browser).
    public var screen: Screen = .studio
    public var version = 1

    public init(prompt: String, negative: String, object: String?, settings: StudioSettings, focus: Pane, selectedObject: Int) {
        self.prompt = prompt; self.negative = negative; self.object = object; self.settings = settings
        self.focus = focus; self.selectedObject = selectedObject
    }

    /// Tolerant decoding: keys missing from an older or hand-edited file keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt) ?? StudioState.samplePrompt
        negative = try c.decodeIfPresent(String.self, forKey: .negative) ?? ""
        object = try c.decodeIfPresent(String.self, forKey: .object)
        settings = (try? c.decodeIfPresent(JSONValue.self, forKey: .settings)).flatMap { $0 }
            .map(StudioSettings.init(session:)) ?? StudioSettings()
        focus = (try? c.decodeIfPresent(Pane.self, forKey: .focus)) ?? .prompt
        selectedObject = (try? c.decodeIfPresent(Int.self, forKey: .selectedObject)) ?? 0
        screen = (try? c.decodeIfPresent(Screen.self, forKey: .screen)) ?? .studio
        version = (try? c.decodeIfPresent(Int.self, forKey: .version)) ?? 1
    }

    public init(from s: StudioState) {
        self.init(prompt: s.prompt.text, negative: s.negative.text, object: s.gallery.active, settings: s.settings,
                  focus: s.focus, selectedObject: s.gallery.selected)
        screen = s.screen
    }
}

extension StudioSettings {
    /// Settings read tolerantly from a session file. Files from before the generation values were
    /// one GenerationSpec kept them as flat keys of the same names ("steps", "sampler", "seed", ...):
    /// those move under "generation" first.
    init(session value: JSONValue) {
        var value = value
        if case .object(var o) = value, o["generation"] == nil,
           let data = try? JSONEncoder().encode(StudioSettings.defaultGeneration),
           case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data) {
            var moved: [String: JSONValue] = [:]
            for key in fields.keys { if let v = o.removeValue(forKey: key) { moved[key] = v } }
            o["generation"] = .object(moved)
            value = .object(o)
        }
        self = value.decode(StudioSettings.self, defaults: StudioSettings())
    }
}

public enum SessionStore {
    /// The saved session, nil when none exists; a damaged file is reported (and left for the user).
    public static func load(paths: LikenessPaths) throws -> SessionData? {
        let url = paths.session
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try Data(contentsOf: url)
        do {
            return try JSONDecoder().decode(SessionData.self, from: data)
        } catch {
            throw SessionError(message: "\(url.path) is not a studio session (\(error.localizedDescription)); it is ignored and replaced on exit")
        }
    }

    public static func save(_ session: SessionData, paths: LikenessPaths) throws {
        try FileManager.default.createDirectory(at: paths.configHome, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(session), to: paths.session)
        try AtomicFile.write(try enc.encode(session.settings), to: paths.settings)
    }
}

public struct SessionError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
