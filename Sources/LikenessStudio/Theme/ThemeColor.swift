// Colour strings in theme files: "#rrggbb" or "#rgb", case-insensitive, and back.

import Foundation

/// Colour strings of theme files.
public enum ThemeColor {
    /// "#rrggbb" or "#rgb" (case-insensitive); nil for anything else.
    public static func parseHex(_ s: String) -> RGB? {
        guard s.hasPrefix("#") else { return nil }
        let hex = Array(s.dropFirst())
        guard hex.count == 6 || hex.count == 3, hex.allSatisfy(\.isHexDigit) else { return nil }
        let digits = hex.compactMap { $0.hexDigitValue }
        if hex.count == 3 {
            return RGB(UInt8(digits[0] * 17), UInt8(digits[1] * 17), UInt8(digits[2] * 17))
        }
        return RGB(UInt8(digits[0] * 16 + digits[1]), UInt8(digits[2] * 16 + digits[3]), UInt8(digits[4] * 16 + digits[5]))
    }

    public static func hex(_ c: RGB) -> String {
        String(format: "#%02x%02x%02x", Int(c.r), Int(c.g), Int(c.b))
    }
}
