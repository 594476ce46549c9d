// Fitting images to terminal cell grids. Pure functions: no terminal I/O anywhere in this
// module; callers pass the cell grid size (and, for sixel, the cell size in pixels).

/// Text and sixel renderings of an `RGBImage` for terminals, and the cell grids of half blocks. Each renderer scales the image to
/// fit a box of `maxColumns` x `maxRows` cells keeping its aspect ratio, assuming a cell is
/// `cellAspect` times as tall as it is wide (about 2 in most terminal fonts). Shrinking uses the
/// `.area` filter, enlarging uses `.nearest` so that small images stay crisp.
public enum TerminalRender {
    /// Smallest box any renderer accepts.
    static func checkBox(_ maxColumns: Int, _ maxRows: Int, _ cellAspect: Double) throws {
        guard maxColumns >= 1, maxRows >= 1 else {
            throw ImageError.invalidArgument(
                "terminal area too small to draw an image: \(maxColumns) x \(maxRows) cells (need at least 1 x 1)")
        }
        guard cellAspect.isFinite, cellAspect > 0 else {
            throw ImageError.invalidArgument("cell aspect must be a positive number, got \(cellAspect)")
        }
    }

    /// The image scaled to `width` x `height` for display (area when shrinking, nearest otherwise).
    static func displayScaled(_ image: RGBImage, _ width: Int, _ height: Int) throws -> RGBImage {
        let filter: ResizeFilter = (width <= image.width && height <= image.height) ? .area : .nearest
        return try image.resized(width: width, height: height, filter: filter)
    }

    /// Sample grid for a renderer whose cells each show one column of `perCellY` samples,
    /// keeping the image's aspect on screen given cells `cellAspect` times taller than wide.
    static func sampleGrid(imageWidth: Int, imageHeight: Int, maxColumns: Int, maxRows: Int,
                           cellAspect: Double, perCellY: Int) -> (width: Int, height: Int) {
        // A sample is 1 unit wide and cellAspect / perCellY units tall on screen.
        let sampleAspect = cellAspect / Double(perCellY)
        let maxW = Double(maxColumns), maxH = Double(maxRows * perCellY)
        let w = Double(imageWidth), h = Double(imageHeight) / sampleAspect
        let scale = min(maxW / w, maxH / h)
        let gw = min(max(1, Int((w * scale).rounded())), maxColumns)
        let gh = min(max(1, Int((h * scale).rounded())), maxRows * perCellY)
        return (gw, gh)
    }

    /// The cell grid (columns, rows) of half-block cells (two pixel rows each) for an image of
    /// `imageWidth` x `imageHeight` in a box of `maxColumns` x `maxRows` cells; (0, 0) for
    /// non-positive input.
    public static func halfBlockCells(imageWidth: Int, imageHeight: Int, maxColumns: Int, maxRows: Int,
                                      cellAspect: Double = 2) -> (columns: Int, rows: Int) {
        guard imageWidth > 0, imageHeight > 0, maxColumns > 0, maxRows > 0, cellAspect > 0 else { return (0, 0) }
        let g = sampleGrid(imageWidth: imageWidth, imageHeight: imageHeight, maxColumns: maxColumns,
                           maxRows: maxRows, cellAspect: cellAspect, perCellY: 2)
        return (g.width, (g.height + 1) / 2)
    }

    /// The cell grid (columns, rows) that `ascii` uses; (0, 0) for non-positive input.
    public static func asciiCells(imageWidth: Int, imageHeight: Int, maxColumns: Int, maxRows: Int,
                                  cellAspect: Double = 2) -> (columns: Int, rows: Int) {
        guard imageWidth > 0, imageHeight > 0, maxColumns > 0, maxRows > 0, cellAspect > 0 else { return (0, 0) }
        let g = sampleGrid(imageWidth: imageWidth, imageHeight: imageHeight, maxColumns: maxColumns,
                           maxRows: maxRows, cellAspect: cellAspect, perCellY: 1)
        return (g.width, g.height)
    }
}
