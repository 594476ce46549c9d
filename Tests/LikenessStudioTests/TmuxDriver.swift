// Drives the real `likeness studio` in a private tmux server (its own socket, no user config):
// start it at a size, send keys, read the screen (capture-pane), resize, wait for text.

import Foundation
import XCTest

final class TmuxStudio {
    let socket = "likeness-e2e-\(UUID().uuidString.prefix(8))"
    let session = "studio"
    let dir: URL

    init(dir: URL) { self.dir = dir }

    static func tmuxPath() -> String? {
        for p in ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return nil
    }

    /// Runs tmux with posix_spawn and waitpid, output through a temporary file. (Foundation's
    /// Process can miss the exit of a tmux client that started the server, and a pipe would stay
    /// open in the server.)
    @discardableResult
    func tmux(_ args: [String], detached: Bool = false) throws -> String {
        guard let path = Self.tmuxPath() else { throw XCTSkip("tmux is not installed (apt-get install -y tmux)") }
        let outFile = dir.appendingPathComponent("tmux-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: outFile) }
        let argv = [path, "-L", socket, "-f", "/dev/null"] + args
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, detached ? "/dev/null" : outFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var cenv: [UnsafeMutablePointer<CChar>?] = Self.serverEnvironment().map { strdup($0) } + [nil]
        defer { for e in cenv { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, &cargs, &cenv)
        guard rc == 0 else { throw XCTSkip("cannot run tmux: error \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
    }

    /// The environment the tmux server (and so every pane) starts from: the test's own, less what
    /// would change how the studio draws (`swift test` sets NO_COLOR when it has no terminal;
    /// an outer tmux or terminal leaves TMUX, COLORTERM, TERM_PROGRAM), with a UTF-8 locale.
    static func serverEnvironment(_ base: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var env = base
        for k in ["NO_COLOR", "TMUX", "TMUX_PANE", "COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "STY", "LC_ALL", "LC_CTYPE"] {
            env[k] = nil
        }
        if !(env["LANG"] ?? "").lowercased().replacingOccurrences(of: "-", with: "").hasSuffix("utf8") { env["LANG"] = "C.UTF-8" }
        if (env["TERM"] ?? "").isEmpty { env["TERM"] = "xterm-256color" }
        return env.map { "\($0)=\($1)" }.sorted()
    }

    /// Starts `command` (a shell line) in a detached session of `width` x `height`, with
    /// `environment` added to the pane's.
    func start(_ command: String, width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        let vars = (["TERM": "xterm-256color"].merging(environment) { $1 }).sorted { $0.key < $1.key }.flatMap { ["-e", "\($0)=\($1)"] }
        try tmux(["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)"] + vars + [command], detached: true)
    }

    func keys(_ keys: String...) throws { try tmux(["send-keys", "-t", session] + keys) }
    func text(_ literal: String) throws { try tmux(["send-keys", "-t", session, "-l", literal]) }
    func screen(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-t", session, "-p"] + (escapes ? ["-e"] : []))
    }
    func resize(_ w: Int, _ h: Int) throws { try tmux(["resize-window", "-t", session, "-x", "\(w)", "-y", "\(h)"]) }

    /// Waits until the screen contains `needle`; fails with the screen when it does not.
    @discardableResult
    func wait(for needle: String, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let end = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < end {
            last = try screen()
            if last.contains(needle) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for \"\(needle)\"; screen:\n\(last)", file: file, line: line)
        throw XCTSkip("stopped after a timeout")
    }

    /// Waits until the screen matches the regular expression `pattern`.
    @discardableResult
    func wait(matching pattern: String, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let end = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < end {
            last = try screen()
            if last.range(of: pattern, options: .regularExpression) != nil { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for /\(pattern)/; screen:\n\(last)", file: file, line: line)
        throw XCTSkip("stopped after a timeout")
    }

    func stop() {
        _ = try? tmux(["kill-server"])
        // kill-server can leave the socket file behind.
        let base = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        try? FileManager.default.removeItem(atPath: "\(base)/tmux-\(getuid())/\(socket)")
    }
}
