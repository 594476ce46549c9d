// Splits bytes read from the terminal after the detection queries into the replies we asked
// for (DA1, cell size, sixel colour registers, XTVERSION, kitty graphics) and everything else,
// which is kept as `unconsumed` so keys typed meanwhile are not lost. Incremental: a sequence
// cut between reads is completed by the next `feed`. Malformed sequences are dropped from the
// point where they go wrong. Only 7-bit introducers (ESC [, ESC P, ESC _, ESC ]) are read: the
// 8-bit C1 forms are also UTF-8 continuation bytes of typed text.

public enum TerminalReply: Equatable, Sendable {
    /// Primary device attributes `CSI ? Ps ; ... c`.
    case deviceAttributes([Int])
    /// `CSI 6 ; height ; width t`: one cell in pixels.
    case cellSize(width: Int, height: Int)
    /// XTSMGRAPHICS `CSI ? 1 ; status ; value S` (status 0: success).
    case sixelRegisters(status: Int, value: Int)
    /// XTVERSION `DCS > | text ST`.
    case version(String)
    /// Kitty graphics `APC G ... ; OK ST` (ok) or an error message.
    case kittyGraphics(ok: Bool)
}

public struct TerminalReplyParser: Sendable {
    public private(set) var replies: [TerminalReply] = []
    /// Bytes that were not replies (typed keys, unknown sequences), in order.
    public private(set) var unconsumed: [UInt8] = []
    private var pending: [UInt8] = []
    static let maxSequence = 4096

    public init() {}

    /// True once DA1 has been answered: it was asked last, so every answer is in.
    public var sawDeviceAttributes: Bool {
        replies.contains { if case .deviceAttributes = $0 { return true } else { return false } }
    }

    public mutating func feed(_ bytes: [UInt8]) {
        var buf = pending + bytes
        pending = []
        var i = 0
        while i < buf.count {
            if buf[i] != 0x1B { unconsumed.append(buf[i]); i += 1; continue }
            guard i + 1 < buf.count else { pending = [0x1B]; break }
            let kind = buf[i + 1]
            let result: Scan
            switch kind {
            case UInt8(ascii: "["): result = scanCSI(buf, from: i + 2)
            case UInt8(ascii: "P"), UInt8(ascii: "_"), UInt8(ascii: "]"): result = scanString(buf, from: i + 2)
            default: result = .other(end: kind == 0x1B ? i + 1 : i + 2)
            }
            switch result {
            case .incomplete:
                if buf.count - i > TerminalReplyParser.maxSequence { i = buf.count } else {
                    pending = Array(buf[i...]); buf.removeAll(); i = 0
                }
            case .malformed(let resume):
                i = resume
            case .other(let end):
                unconsumed.append(contentsOf: buf[i..<end]); i = end
            case .complete(let bodyStart, let end):
                if let reply = interpret(kind: kind, body: Array(buf[bodyStart..<end])) {
                    replies.append(reply)
                } else if kind == UInt8(ascii: "[") {
                    unconsumed.append(contentsOf: buf[i..<end])  // e.g. an arrow key typed meanwhile
                }
                i = end
            }
        }
    }

    /// Ends the stream: a sequence still cut off is given up as typed input.
    public mutating func finish() {
        unconsumed.append(contentsOf: pending)
        pending = []
    }

    private enum Scan { case incomplete, malformed(resume: Int), other(end: Int), complete(bodyStart: Int, end: Int) }

    /// CSI: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, one final byte 0x40-0x7E.
    private func scanCSI(_ b: [UInt8], from start: Int) -> Scan {
        var k = start
        while k < b.count {
            let c = b[k]
            if (0x20...0x3F).contains(c) { k += 1; continue }
            if (0x40...0x7E).contains(c) { return .complete(bodyStart: start, end: k + 1) }
            return .malformed(resume: k)
        }
        return .incomplete
    }

    /// DCS, APC, OSC: any bytes up to ST (ESC \) or BEL; the body excludes the terminator.
    private func scanString(_ b: [UInt8], from start: Int) -> Scan {
        var k = start
        while k < b.count {
            if b[k] == 0x07 { return .complete(bodyStart: start, end: k + 1) }
            if b[k] == 0x1B {
                guard k + 1 < b.count else { return .incomplete }
                if b[k + 1] == UInt8(ascii: "\\") { return .complete(bodyStart: start, end: k + 2) }
                return .malformed(resume: k)
            }
            k += 1
        }
        return .incomplete
    }

    private func interpret(kind: UInt8, body raw: [UInt8]) -> TerminalReply? {
        var body = raw
        if body.last == 0x07 { body.removeLast() } else if body.suffix(2) == [0x1B, UInt8(ascii: "\\")] { body.removeLast(2) }
        switch kind {
        case UInt8(ascii: "["):
            guard let final = body.last else { return nil }
            var params = body.dropLast()
            var prefix: UInt8?
            if let f = params.first, (0x3C...0x3F).contains(f) { prefix = f; params = params.dropFirst() }
            let numbers = params.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
                .map { Int(String(decoding: $0, as: UTF8.self)) ?? 0 }
            switch (prefix, final) {
            case (UInt8(ascii: "?"), UInt8(ascii: "c")): return .deviceAttributes(numbers)
            case (nil, UInt8(ascii: "t")) where numbers.count >= 3 && numbers[0] == 6:
                return .cellSize(width: numbers[2], height: numbers[1])
            case (UInt8(ascii: "?"), UInt8(ascii: "S")) where numbers.count >= 3 && numbers[0] == 1:
                return .sixelRegisters(status: numbers[1], value: numbers[2])
            default: return nil
            }
        case UInt8(ascii: "P"):
            guard body.starts(with: [UInt8(ascii: ">"), UInt8(ascii: "|")]) else { return nil }
            return .version(String(decoding: body.dropFirst(2), as: UTF8.self))
        case UInt8(ascii: "_"):
            guard body.first == UInt8(ascii: "G") else { return nil }
            let text = String(decoding: body, as: UTF8.self)
            return .kittyGraphics(ok: text.hasSuffix(";OK"))
        default:
            return nil
        }
    }
}
