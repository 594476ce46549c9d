import CSixel

// Sixel rendering. `sixel` encodes with libsixel (median-cut palette of up to `colors`
// entries, libsixel's automatic diffusion) into a byte buffer through a write callback; if
// libsixel fails it falls back to `sixelFallback`, a pure-Swift encoder with a fixed 6x6x6
// colour cube (216 colours, levels 0, 51, ..., 255, no dithering) and run-length encoding.
// Both emit 7-bit sequences: DCS introducer ESC P ... q, raster attributes "1;1;W;H (square
// pixels), palette, six-pixel bands, and ST (ESC \).

/// Collects bytes written by libsixel.
private final class SixelSink {
    var bytes: [UInt8] = []
}

private let sixelWrite: sixel_write_function = { data, size, priv in
    guard let data, let priv, size > 0 else { return 0 }
    let sink = Unmanaged<SixelSink>.fromOpaque(priv).takeUnretainedValue()
    data.withMemoryRebound(to: UInt8.self, capacity: Int(size)) { p in
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: Int(size)))
    }
    return size
}

extension TerminalRender {
    /// Pixel size a sixel image gets when fit into `maxColumns` x `maxRows` cells of
    /// `cellWidth` x `cellHeight` pixels, keeping aspect.
    public static func sixelPixelSize(imageWidth: Int, imageHeight: Int, maxColumns: Int, maxRows: Int,
                                      cellWidth: Int = 10, cellHeight: Int = 20) -> (width: Int, height: Int) {
        guard imageWidth > 0, imageHeight > 0 else { return (0, 0) }
        return RGBImage.fittedSize(width: imageWidth, height: imageHeight,
                                   maxWidth: max(1, maxColumns * cellWidth), maxHeight: max(1, maxRows * cellHeight))
    }

    /// The image as a sixel sequence fitting `maxColumns` x `maxRows` cells whose size in pixels
    /// is `cellWidth` x `cellHeight` (ask the terminal, e.g. TIOCGWINSZ; 10 x 20 is common).
    /// Uses libsixel with up to `colors` (2...256) palette entries, or `sixelFallback` if
    /// libsixel reports an error.
    public static func sixel(_ image: RGBImage, maxColumns: Int, maxRows: Int,
                             cellWidth: Int = 10, cellHeight: Int = 20, colors: Int = 256) throws -> [UInt8] {
        let img = try sixelScaled(image, maxColumns, maxRows, cellWidth, cellHeight)
        guard (2...256).contains(colors) else {
            throw ImageError.invalidArgument("sixel colours must be 2...256, got \(colors)")
        }
        if let bytes = libsixelEncode(img, colors: colors) { return bytes }
        return sixelFallbackEncode(img)
    }

    /// The pure-Swift sixel encoder (fixed 216-colour cube), fitting the box like `sixel`.
    public static func sixelFallback(_ image: RGBImage, maxColumns: Int, maxRows: Int,
                                     cellWidth: Int = 10, cellHeight: Int = 20) throws -> [UInt8] {
        let img = try sixelScaled(image, maxColumns, maxRows, cellWidth, cellHeight)
        return sixelFallbackEncode(img)
    }

    private static func sixelScaled(_ image: RGBImage, _ maxColumns: Int, _ maxRows: Int,
                                    _ cellWidth: Int, _ cellHeight: Int) throws -> RGBImage {
        try checkBox(maxColumns, maxRows, 2)
        guard cellWidth >= 1, cellHeight >= 1, cellWidth <= 1000, cellHeight <= 1000 else {
            throw ImageError.invalidArgument("cell size must be 1...1000 pixels, got \(cellWidth) x \(cellHeight)")
        }
        let size = sixelPixelSize(imageWidth: image.width, imageHeight: image.height, maxColumns: maxColumns,
                                  maxRows: maxRows, cellWidth: cellWidth, cellHeight: cellHeight)
        let w = min(size.width, ImageLimits.maxDimension), h = min(size.height, ImageLimits.maxDimension)
        return try displayScaled(image, w, h)
    }

    /// libsixel encode; nil when any libsixel call fails.
    static func libsixelEncode(_ img: RGBImage, colors: Int) -> [UInt8]? {
        let sink = SixelSink()
        let priv = Unmanaged.passUnretained(sink).toOpaque()
        var output: OpaquePointer?
        guard sixelOK(sixel_output_new(&output, sixelWrite, priv, nil)), let output else { return nil }
        defer { sixel_output_unref(output) }
        var dither: OpaquePointer?
        guard sixelOK(sixel_dither_new(&dither, Int32(colors), nil)), let dither else { return nil }
        defer { sixel_dither_unref(dither) }
        var pixels = img.pixels  // libsixel takes a non-const pointer
        let ok = pixels.withUnsafeMutableBufferPointer { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            let pf = Int32(SIXEL_PIXELFORMAT_RGB888)
            guard sixelOK(sixel_dither_initialize(dither, base, Int32(img.width), Int32(img.height), pf,
                                                  Int32(SIXEL_LARGE_AUTO), Int32(SIXEL_REP_AUTO),
                                                  Int32(SIXEL_QUALITY_AUTO)))
            else { return false }
            return sixelOK(sixel_encode(base, Int32(img.width), Int32(img.height), 3, dither, output))
        }
        withExtendedLifetime(sink) {}
        guard ok, !sink.bytes.isEmpty else { return nil }
        return sink.bytes
    }

    private static func sixelOK(_ status: SIXELSTATUS) -> Bool { (status & 0x1000) == 0 }

    /// Pure-Swift sixel encoding of `img` at its size.
    static func sixelFallbackEncode(_ img: RGBImage) -> [UInt8] {
        let w = img.width, h = img.height
        // Quantize to the 6x6x6 cube: index = 36 r + 6 g + b with level = round(v / 51).
        var index = [UInt8](repeating: 0, count: w * h)
        var used = [Bool](repeating: false, count: 216)
        for i in 0..<(w * h) {
            let r = (Int(img.pixels[3 * i]) + 25) / 51
            let g = (Int(img.pixels[3 * i + 1]) + 25) / 51
            let b = (Int(img.pixels[3 * i + 2]) + 25) / 51
            let k = 36 * r + 6 * g + b
            index[i] = UInt8(k)
            used[k] = true
        }
        var out: [UInt8] = []
        out.reserveCapacity(w * h / 2 + 1024)
        func emit(_ s: String) { out.append(contentsOf: Array(s.utf8)) }
        emit("\u{1b}Pq\"1;1;\(w);\(h)")
        for k in 0..<216 where used[k] {
            // Sixel colours are percentages; level l of 0...5 is exactly 20 l percent.
            emit("#\(k);2;\(k / 36 * 20);\(k / 6 % 6 * 20);\(k % 6 * 20)")
        }
        var band = 0
        while band * 6 < h {
            if band > 0 { emit("-") }
            let y0 = band * 6
            var inBand = [Bool](repeating: false, count: 216)
            for y in y0..<min(y0 + 6, h) {
                for x in 0..<w { inBand[Int(index[y * w + x])] = true }
            }
            var first = true
            for k in 0..<216 where inBand[k] {
                if !first { emit("$") }
                first = false
                emit("#\(k)")
                var run = 0
                var runChar: UInt8 = 0
                func flush() {
                    if run == 0 { return }
                    if run > 3 {
                        emit("!\(run)")
                        out.append(runChar)
                    } else {
                        out.append(contentsOf: [UInt8](repeating: runChar, count: run))
                    }
                }
                for x in 0..<w {
                    var bits = 0
                    for dy in 0..<6 where y0 + dy < h && Int(index[(y0 + dy) * w + x]) == k {
                        bits |= 1 << dy
                    }
                    let ch = UInt8(63 + bits)
                    if ch == runChar && run > 0 {
                        run += 1
                    } else {
                        flush()
                        runChar = ch
                        run = 1
                    }
                }
                flush()
            }
            band += 1
        }
        emit("\u{1b}\\")
        return out
    }
}
