// Where Likeness keeps what users save: data (objects, outputs, history) under
// $XDG_DATA_HOME/likeness (~/.local/share/likeness), settings and the last session under
// $XDG_CONFIG_HOME/likeness (~/.config/likeness), rebuildable caches under $XDG_CACHE_HOME/likeness
// (~/.cache/likeness). XDG variables that are empty or relative are
// ignored, as the XDG Base Directory specification says.

import Foundation

public struct LikenessPaths: Sendable, Equatable {
    public var dataHome: URL
    public var configHome: URL
    public var cacheHome: URL

    /// Paths from an environment (the process's by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = URL(fileURLWithPath: environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory())
        func xdg(_ key: String, _ fallback: String) -> URL {
            if let v = environment[key], v.hasPrefix("/") { return URL(fileURLWithPath: v) }
            return home.appendingPathComponent(fallback)
        }
        dataHome = xdg("XDG_DATA_HOME", ".local/share").appendingPathComponent("likeness")
        configHome = xdg("XDG_CONFIG_HOME", ".config").appendingPathComponent("likeness")
        cacheHome = xdg("XDG_CACHE_HOME", ".cache").appendingPathComponent("likeness")
    }

    public init(dataHome: URL, configHome: URL, cacheHome: URL? = nil) {
        self.dataHome = dataHome
        self.configHome = configHome
        self.cacheHome = cacheHome ?? dataHome.appendingPathComponent("cache")
    }

    /// The object gallery: one folder per saved object.
    public var objects: URL { dataHome.appendingPathComponent("objects") }
    /// Finished images with their `parameters` chunk.
    public var outputs: URL { dataHome.appendingPathComponent("outputs") }
    /// LoRA files named in prompts as <lora:NAME:W>: NAME.safetensors here.
    public var loras: URL { dataHome.appendingPathComponent("loras") }
    /// Tiny decoders (TAESD folders) found by `--decoder tiny` and the studio.
    public var decoders: URL { dataHome.appendingPathComponent("decoders") }
    /// Prompt history, one JSON object per line.
    public var promptHistory: URL { dataHome.appendingPathComponent("prompt_history.jsonl") }
    /// Studio settings.
    public var settings: URL { configHome.appendingPathComponent("settings.json") }
    /// Model fingerprints by weight-file identity (ModelIdentity), so large weights are hashed once.
    public var fingerprintCache: URL { cacheHome.appendingPathComponent("fingerprints.json") }
    /// The last studio session (prompt, object, settings, layout).
    public var session: URL { configHome.appendingPathComponent("session.json") }
}
