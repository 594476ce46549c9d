// Theme files: the shipped themes load and match their promises (built-in = dark.toml, high
// contrast really 7:1), and every kind of mistake names the file, line and key.

import Foundation
import XCTest
@testable import LikenessStudio

final class ThemeTests: XCTestCase {
    static let themesDir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Themes")

    func testShippedThemesLoadWithEveryRole() throws {
        XCTAssertEqual(ThemeLoader.available(in: [Self.themesDir]), ["dark", "high-contrast", "light"])
        for name in ["dark", "light", "high-contrast"] {
            let t = try ThemeLoader.load(name: name, directories: [Self.themesDir])
            XCTAssertEqual(t.name, name)
            XCTAssertEqual(Set(t.styles.keys), Set(ThemeRole.allCases), name)
            XCTAssertNotNil(t.style(.text).fg, name)
            // Themes that paint a background paint it everywhere, so they read the same on any terminal.
            if name != "dark" {
                for role in ThemeRole.allCases { XCTAssertNotNil(t.style(role).bg, "\(name).\(role.rawValue)") }
            }
        }
    }

    func testBuiltinDarkIsDarkToml() throws {
        let t = try ThemeLoader.load(file: Self.themesDir.appendingPathComponent("dark.toml"))
        for role in ThemeRole.allCases { XCTAssertEqual(t.style(role), Theme.builtinDark.style(role), role.rawValue) }
        XCTAssertEqual(t, Theme.builtinDark)
    }

    /// WCAG 2 contrast ratio of a role's foreground against its background.
    private func contrast(_ s: Style, defaultBg: RGB) throws -> Double {
        func lum(_ c: RGB) -> Double {
            func ch(_ v: UInt8) -> Double { let x = Double(v) / 255; return x <= 0.03928 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4) }
            return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b)
        }
        let fg = try XCTUnwrap(s.fg), bg = s.bg ?? defaultBg
        let a = lum(fg), b = lum(bg)
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)
    }

    func testHighContrastIsAtLeastSevenToOne() throws {
        let t = try ThemeLoader.load(name: "high-contrast", directories: [Self.themesDir])
        XCTAssertEqual(t.style(.text).bg, RGB(0, 0, 0))
        for role in ThemeRole.allCases {
            XCTAssertGreaterThanOrEqual(try contrast(t.style(role), defaultBg: RGB(0, 0, 0)), 7, role.rawValue)
        }
    }

    func testTextRolesOfDarkAndLightAreReadable() throws {
        let decorative: Set<ThemeRole> = [.border, .progressTrack, .dim]
        for (name, bg) in [("dark", RGB(0x1e, 0x1e, 0x1e)), ("light", RGB(0xfa, 0xfa, 0xfa))] {
            let t = try ThemeLoader.load(name: name, directories: [Self.themesDir])
            for role in ThemeRole.allCases where !decorative.contains(role) {
                XCTAssertGreaterThanOrEqual(try contrast(t.style(role), defaultBg: bg), 4.5, "\(name).\(role.rawValue)")
            }
        }
    }

    func testRolesInheritTextBackgroundAndMissingRolesDrawAsText() throws {
        let t = try ThemeLoader.parse("""
            [roles]
            text = { fg = "#ffffff", bg = "#000080" }
            error = "#f00"
            """, file: "t.toml")
        XCTAssertEqual(t.style(.error), Style(fg: RGB(255, 0, 0), bg: RGB(0, 0, 128)))
        XCTAssertEqual(t.style(.caption), t.style(.text))
        XCTAssertEqual(t.name, "theme")
    }

    func testSubTableFormAndPaletteNames() throws {
        let t = try ThemeLoader.parse("""
            name = "mine"
            [palette]
            sea = "#0A7f9C"
            [roles]
            text = "sea"
            [roles.title]
            fg = "sea"
            bold = true
            underline = true
            """, file: "mine.toml")
        XCTAssertEqual(t.name, "mine")
        XCTAssertEqual(t.style(.title), Style(fg: RGB(0x0a, 0x7f, 0x9c), bold: true, underline: true))
    }

    private func error(_ source: String) -> ThemeError? {
        do { _ = try ThemeLoader.parse(source, file: "bad.toml"); return nil } catch { return error as? ThemeError }
    }

    func testUnknownRoleNamesLineAndKey() throws {
        let e = try XCTUnwrap(error("name = \"x\"\n\n[roles]\ntext = \"#fff\"\nsparkle = \"#fff\"\n"))
        XCTAssertEqual(e.file, "bad.toml")
        XCTAssertEqual(e.line, 5)
        XCTAssertEqual(e.key, "roles.sparkle")
        XCTAssertTrue(e.message.contains("unknown role"), e.message)
        XCTAssertTrue(e.description.hasPrefix("bad.toml:5: roles.sparkle: unknown role"), e.description)
    }

    func testBadColourNamesLineAndKey() throws {
        let e = try XCTUnwrap(error("[roles]\ntext = \"#fff\"\nerror = { fg = \"#12345\", bold = true }\n"))
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.key, "roles.error.fg")
        XCTAssertTrue(e.message.contains("\"#12345\""), e.message)
        let p = try XCTUnwrap(error("[palette]\nx = \"#ggg\"\n[roles]\ntext = \"x\"\n"))
        XCTAssertEqual(p.line, 2)
        XCTAssertEqual(p.key, "palette.x")
    }

    func testWrongTypesNameLineAndKey() throws {
        let b = try XCTUnwrap(error("[roles]\ntext = \"#fff\"\n[roles.title]\nbold = \"yes\"\n"))
        XCTAssertEqual(b.line, 4)
        XCTAssertEqual(b.key, "roles.title.bold")
        XCTAssertTrue(b.message.contains("true or false"), b.message)
        let n = try XCTUnwrap(error("[roles]\ntext = 12\n"))
        XCTAssertEqual(n.line, 2)
        XCTAssertEqual(n.key, "roles.text")
        let k = try XCTUnwrap(error("[roles]\ntext = { fg = \"#fff\", blink = true }\n"))
        XCTAssertEqual(k.key, "roles.text.blink")
        XCTAssertEqual(k.line, 2)
    }

    func testMissingTextRoleAndUnknownTopKey() throws {
        XCTAssertEqual(try XCTUnwrap(error("[roles]\ntitle = \"#fff\"\n")).key, "roles.text")
        let top = try XCTUnwrap(error("colour = 1\n[roles]\ntext = \"#fff\"\n"))
        XCTAssertEqual(top.key, "colour")
        XCTAssertEqual(top.line, 1)
    }

    func testSyntaxErrorCarriesTOMLKitLine() throws {
        let e = try XCTUnwrap(error("[roles]\ntext = \"#fff\"\ntitle = = \n"))
        XCTAssertEqual(e.line, 3)
        XCTAssertTrue(e.message.hasPrefix("TOML syntax"), e.message)
    }

    func testHexColourParsing() {
        XCTAssertEqual(ThemeColor.parseHex("#ABCDEF"), RGB(0xab, 0xcd, 0xef))
        XCTAssertEqual(ThemeColor.parseHex("#0f8"), RGB(0, 0xff, 0x88))
        for bad in ["#12345", "123456", "#12345g", "#", "#1234567"] { XCTAssertNil(ThemeColor.parseHex(bad), bad) }
        XCTAssertEqual(ThemeColor.hex(RGB(1, 2, 255)), "#0102ff")
    }

    func testWithoutColorKeepsAttributesAndMarksSelection() {
        let mono = Theme.builtinDark.withoutColor()
        XCTAssertTrue(mono.isMonochrome)
        XCTAssertFalse(Theme.builtinDark.isMonochrome)
        XCTAssertTrue(mono.style(.selection).reverse)
        XCTAssertTrue(mono.style(.unknownWord).underline)
        XCTAssertTrue(mono.style(.title).bold)
        XCTAssertEqual(mono.style(.text), .plain)
    }

    func testSearchDirectoriesOrder() {
        let dirs = ThemeLoader.searchDirectories(
            environment: ["XDG_CONFIG_HOME": "/cfg", "HOME": "/home/u"],
            executable: URL(fileURLWithPath: "/repo/.build/x86_64/debug/likeness"),
            currentDirectory: URL(fileURLWithPath: "/work"))
        XCTAssertEqual(dirs.first?.path, "/cfg/likeness/themes")
        XCTAssertEqual(dirs.dropFirst().first?.path, "/work/Themes")
        XCTAssertTrue(dirs.map(\.path).contains("/repo/Themes"))
        XCTAssertTrue(dirs.map(\.path).contains("/repo/.build/x86_64/share/likeness/themes"))
    }

    func testStartThemeFallsBackAndHonoursNoColor() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("themes-\(UUID().uuidString)")
        let quiet = ThemeLoader.startTheme(name: nil, directories: [empty], environment: [:])
        XCTAssertEqual(quiet.theme, .builtinDark)
        XCTAssertNil(quiet.warning)
        let named = ThemeLoader.startTheme(name: "solar", directories: [empty], environment: [:])
        XCTAssertEqual(named.theme, .builtinDark)
        XCTAssertTrue(named.warning?.contains("solar.toml") ?? false, named.warning ?? "")
        let light = ThemeLoader.startTheme(name: "light", directories: [Self.themesDir], environment: ["NO_COLOR": "1"])
        XCTAssertTrue(light.theme.isMonochrome)
        XCTAssertEqual(light.theme.name, "light")
        let emptyNoColor = ThemeLoader.startTheme(name: "light", directories: [Self.themesDir], environment: ["NO_COLOR": ""])
        XCTAssertFalse(emptyNoColor.theme.isMonochrome)
    }

    func testBrokenFileIsReportedAndBuiltinUsed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("themes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "[roles]\ntext = \"#12345\"\n".write(to: dir.appendingPathComponent("dark.toml"), atomically: true, encoding: .utf8)
        let r = ThemeLoader.startTheme(name: nil, directories: [dir], environment: [:])
        XCTAssertEqual(r.theme, .builtinDark)
        let w = try XCTUnwrap(r.warning)
        XCTAssertTrue(w.contains("dark.toml:2: roles.text: bad colour"), w)
    }
}

final class TOMLKeyLinesTests: XCTestCase {
    func testFindsKeysInHeadersDottedQuotedAndInlineForms() {
        let src = """
            # comment with roles.text = 1
            name = "x"
            [roles]
            "text" = "#fff"
            title.fg = "#000"
            error = { fg = "#f00", bold = true }
            [roles.'caption']
            fg = "#123"
            [palette]
            "a.b" = "#abc"
            """
        XCTAssertEqual(TOMLKeyLines.line(of: ["name"], in: src), 2)
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles", "text"], in: src), 4)
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles", "title", "fg"], in: src), 5)
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles", "error", "bold"], in: src), 6, "inside an inline table: its key's line")
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles", "caption"], in: src), 7)
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles", "caption", "fg"], in: src), 8)
        XCTAssertEqual(TOMLKeyLines.line(of: ["palette", "a.b"], in: src), 10)
        XCTAssertEqual(TOMLKeyLines.line(of: ["roles"], in: src), 3)
        XCTAssertNil(TOMLKeyLines.line(of: ["missing"], in: src))
    }
}
