// The LoRA list (F5): toggling an entry puts <lora:NAME:W> into the prompt or takes it out,
// changing the weight of an entry that is on edits its tag, tags naming no file are listed as
// missing; the prompt editor colours LoRA tags (malformed ones as errors) and emphasis syntax.

import XCTest
import LikenessImaging
@testable import LikenessStudio

final class LoRAListTests: XCTestCase {
    func listState() -> StudioState {
        var s = Fixture.state()
        s.prompt.setText("a red star")
        XCTAssertTrue(send(&s, .function(5)).contains(.loadLoRAs))
        XCTAssertEqual(s.overlay, .loras)
        _ = Studio.update(&s, .lorasLoaded(folder: "/data/loras", names: ["detail", "style"]))
        return s
    }

    func testToggleAndWeightEditThePrompt() {
        var s = listState()
        XCTAssertEqual(s.loras.entries.map(\.name), ["detail", "style"])
        var effects = send(&s, .enter)
        XCTAssertEqual(s.prompt.text, "a red star <lora:detail:1>")
        XCTAssertTrue(effects.contains(Studio.checkPrompt(s)), "the prompt is checked again")
        send(&s, .right, .right, .char("+"))
        XCTAssertEqual(s.prompt.text, "a red star <lora:detail:1.15>", "the weight edits the tag")
        send(&s, .down, .left, .left)
        XCTAssertEqual(s.loras.entries[1].weight, 0.9)
        XCTAssertEqual(s.prompt.text, "a red star <lora:detail:1.15>", "an entry that is off keeps the prompt")
        send(&s, .char(" "))
        XCTAssertEqual(s.prompt.text, "a red star <lora:detail:1.15> <lora:style:0.9>")
        effects = send(&s, .up, .enter)
        XCTAssertEqual(s.prompt.text, "a red star <lora:style:0.9>", "toggling off takes the tag and its space out")
        XCTAssertEqual(s.loras.entries[0].weight, 1.15, "the weight is kept for the next toggle")
        send(&s, .escape)
        XCTAssertNil(s.overlay)
        // Undo in the prompt takes the last toggle back.
        send(&s, .ctrl("z"))
        XCTAssertEqual(s.prompt.text, "a red star <lora:detail:1.15> <lora:style:0.9>")
    }

    func testTagsOfThePromptSetWeightsAndMissingEntries() {
        var s = Fixture.state()
        s.prompt.setText("(red:1.2) star <lora:style:0.6>, <lora:gone:0.3>")
        send(&s, .function(5))
        _ = Studio.update(&s, .lorasLoaded(folder: "/data/loras", names: ["detail", "style"]))
        XCTAssertEqual(s.loras.entries, [LoRAEntry(name: "detail"), LoRAEntry(name: "style", weight: 0.6),
                                         LoRAEntry(name: "gone", weight: 0.3, missing: true)])
        send(&s, .down, .down, .enter)
        XCTAssertEqual(s.prompt.text, "(red:1.2) star <lora:style:0.6>,", "a missing entry can be taken out")
        XCTAssertEqual(s.loras.entries.map(\.name), ["detail", "style"])
        // An empty folder still opens, and says where to put LoRAs.
        var empty = Fixture.state()
        send(&empty, .function(5))
        _ = Studio.update(&empty, .lorasLoaded(folder: "/data/loras", names: []))
        XCTAssertEqual(send(&empty, .enter), [])
        XCTAssertTrue(StudioView.render(empty, theme: .builtinDark).grid.text.contains("no .safetensors files here"))
    }

    func testEditorColoursLoRATagsAndEmphasis() {
        let theme = Theme.builtinDark
        var s = Fixture.state()
        s.promptCheck = PromptCheck(unknownWords: [], tokenCount: 10, maxTokens: 32)
        let text = "(red:1.2) [star] \\(x\\) <lora:detail:0.5> BREAK <lora:bad:x>"
        s.prompt.setText(text)
        s.focus = .negative
        let grid = StudioView.render(s, theme: theme).grid
        let p = Layout(width: 120, height: 40).prompt.inset(1)
        func style(_ offset: Int) -> Style { grid[p.x + offset, p.y].style }
        let chars = Array(text)
        func at(_ needle: String) -> Int { String(chars).range(of: needle).map { String(chars).distance(from: String(chars).startIndex, to: $0.lowerBound) } ?? -1 }
        XCTAssertEqual(style(0), theme.style(.warning), "(")
        XCTAssertEqual(style(1), theme.style(.text), "red")
        XCTAssertEqual(style(4), theme.style(.warning), ":1.2)")
        XCTAssertEqual(style(8), theme.style(.warning), ")")
        XCTAssertEqual(style(at("[star]")), theme.style(.warning))
        XCTAssertEqual(style(at("\\(x")), theme.style(.text), "an escaped bracket is text")
        XCTAssertEqual(style(at("\\(x") + 1), theme.style(.text))
        XCTAssertEqual(style(at("<lora:detail")), theme.style(.accent))
        XCTAssertEqual(style(at("0.5>") + 3), theme.style(.accent))
        XCTAssertEqual(style(at("BREAK")), theme.style(.warning))
        XCTAssertEqual(style(at("<lora:bad")), theme.style(.error), "a tag generate would refuse")
    }
}
