// Matches torch.nn.functional.interpolate(mode="nearest") on [B, C, H, W] float32:
// source index = min(floor(dst * in / out), in - 1), as PyTorch computes it when an output
// size is given; with scale_factor=2 this is the same as dst / 2 (diffusers Upsample2D).

extension Ops {
    /// Nearest-neighbour resize of `x` [B, C, H, W] to [B, C, outH, outW].
    public static func upsampleNearest(_ x: Tensor, outHeight: Int, outWidth: Int) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("upsample", profileStart) }
        precondition(x.rank == 4, "upsampleNearest: input \(x.shape)")
        let bc = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let scaleH = Float(h) / Float(max(1, outHeight)), scaleW = Float(w) / Float(max(1, outWidth))
        var srcX = [Int](repeating: 0, count: outWidth)
        for ox in 0..<outWidth { srcX[ox] = min(Int((Float(ox) * scaleW).rounded(.down)), w - 1) }
        return Tensor(shape: [x.shape[0], x.shape[1], outHeight, outWidth]) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress!
                parallelFor(bc, minChunk: max(1, 16384 / max(1, outHeight * outWidth))) { p in
                    let src = xp + p * h * w
                    let dst = o + p * outHeight * outWidth
                    for oy in 0..<outHeight {
                        let iy = min(Int((Float(oy) * scaleH).rounded(.down)), h - 1)
                        let srow = src + iy * w
                        let drow = dst + oy * outWidth
                        for ox in 0..<outWidth { drow[ox] = srow[srcX[ox]] }
                    }
                }
            }
        }
    }

    /// torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest").
    public static func upsampleNearest2x(_ x: Tensor) -> Tensor {
        upsampleNearest(x, outHeight: x.shape[2] * 2, outWidth: x.shape[3] * 2)
    }
}
