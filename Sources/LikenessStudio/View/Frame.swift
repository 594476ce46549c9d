// What the view produces: the text grid, the places where the driver writes graphics (sixel or
// kitty) after painting the grid, and where the terminal cursor goes.

import LikenessImaging

public struct ImagePlacement: Equatable, Sendable {
    public var rect: Rect
    public var image: RGBImage
}

public struct Frame: Equatable, Sendable {
    public var grid: CellGrid
    /// Graphics (only in the sixel and kitty modes): the grid leaves these rectangles blank.
    public var images: [ImagePlacement] = []
    /// How `images` are sent: kitty's graphics protocol, else sixel.
    public var kitty = false
    /// Where the terminal cursor should show (a focused text field), else hidden.
    public var cursor: (x: Int, y: Int)?
    /// 24-bit half-block images: curses paints them in 256 colours, then the driver writes
    /// these cells again with their exact colours.
    public var trueColorRects: [Rect] = []

    public static func == (a: Frame, b: Frame) -> Bool {
        a.grid == b.grid && a.images == b.images && a.kitty == b.kitty && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y
            && a.trueColorRects == b.trueColorRects
    }
}
