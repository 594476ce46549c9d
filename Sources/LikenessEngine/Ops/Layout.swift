// Matches PyTorch layout ops on contiguous float32 tensors: torch.cat(dim=1) of
// [B, C_i, *] tensors, x.permute(0, 2, 3, 1).reshape(B, H*W, C) and its inverse
// reshape(B, H, W, C).permute(0, 3, 1, 2), torch.chunk(x, 2, dim=1), and
// torch.nn.functional.pad with constant zeros on the last two dims. Exact (copies only).

extension Ops {
    /// torch.cat(tensors, dim=1) for tensors [B, C_i, *rest] with equal B and rest.
    public static func concatChannels(_ tensors: [Tensor]) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("layout", profileStart) }
        guard let first = tensors.first else { preconditionFailure("concatChannels: no tensors") }
        let batch = first.shape[0]
        let rest = Array(first.shape.dropFirst(2))
        let inner = Tensor.count(of: rest)
        for t in tensors {
            precondition(t.shape[0] == batch && Array(t.shape.dropFirst(2)) == rest, "concatChannels: \(t.shape) vs \(first.shape)")
        }
        let totalC = tensors.reduce(0) { $0 + $1.shape[1] }
        return Tensor(shape: [batch, totalC] + rest) { out in
            guard let o = out.baseAddress else { return }
            var offset = 0
            for t in tensors {
                let c = t.shape[1]
                t.withUnsafeBufferPointer { tb in
                    guard let tp = tb.baseAddress else { return }
                    for b in 0..<batch {
                        copy(tp + b * c * inner, to: o + (b * totalC + offset) * inner, count: c * inner)
                    }
                }
                offset += c
            }
        }
    }

    /// A contiguous copy, split over the engine's threads when it is large (the UNet's skip
    /// concatenations and chunks move tens of MB per call at SD size).
    static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        parallelChunks(count, minChunk: 1 << 16) { r in
            (dst + r.lowerBound).update(from: src + r.lowerBound, count: r.count)
        }
    }

    /// torch.chunk(x, 2, dim=1) for even C: returns ([B, C/2, *], [B, C/2, *]).
    public static func chunkChannels(_ x: Tensor) -> (Tensor, Tensor) {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("layout", profileStart) }
        precondition(x.rank >= 2 && x.shape[1] % 2 == 0, "chunkChannels: \(x.shape)")
        let batch = x.shape[0], half = x.shape[1] / 2
        let inner = x.shape[1] == 0 ? 0 : x.count / (batch * x.shape[1])
        var shape = x.shape
        shape[1] = half
        func part(_ index: Int) -> Tensor {
            Tensor(shape: shape) { out in
                guard let o = out.baseAddress else { return }
                x.withUnsafeBufferPointer { xb in
                    for b in 0..<batch {
                        copy(xb.baseAddress! + (b * 2 + index) * half * inner, to: o + b * half * inner, count: half * inner)
                    }
                }
            }
        }
        return (part(0), part(1))
    }

    /// [B, C, H, W] → [B, H*W, C] (channels last, tokens in raster order).
    public static func channelsToTokens(_ x: Tensor) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("layout", profileStart) }
        precondition(x.rank == 4, "channelsToTokens: \(x.shape)")
        let batch = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        return Tensor(shape: [batch, hw, c]) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress!
                for b in 0..<batch {
                    transpose(xp + b * c * hw, rows: c, cols: hw, into: o + b * c * hw)
                }
            }
        }
    }

    /// [B, H*W, C] → [B, C, H, W].
    public static func tokensToChannels(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("layout", profileStart) }
        precondition(x.rank == 3 && x.shape[1] == height * width, "tokensToChannels: \(x.shape) for \(height)x\(width)")
        let batch = x.shape[0], c = x.shape[2], hw = height * width
        return Tensor(shape: [batch, c, height, width]) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress!
                for b in 0..<batch {
                    transpose(xp + b * c * hw, rows: hw, cols: c, into: o + b * c * hw)
                }
            }
        }
    }

    /// Blocked transpose of a rows x cols matrix into cols x rows.
    static func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let tile = 32
        let rowTiles = (rows + tile - 1) / tile
        parallelFor(rowTiles, minChunk: max(1, 1024 / max(1, cols))) { t in
            let r0 = t * tile, r1 = min(rows, r0 + tile)
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + tile)
                for r in r0..<r1 {
                    let s = src + r * cols
                    for c in c0..<c1 { dst[c * rows + r] = s[c] }
                }
                c0 = c1
            }
        }
    }

    /// torch.nn.functional.pad(x, (left, right, top, bottom)) with zeros, for [B, C, H, W].
    public static func pad2D(_ x: Tensor, _ p: Padding2D) -> Tensor {
        precondition(x.rank == 4, "pad2D: \(x.shape)")
        let bc = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let oh = h + p.top + p.bottom, ow = w + p.left + p.right
        return Tensor(shape: [x.shape[0], x.shape[1], oh, ow]) { out in
            guard let o = out.baseAddress else { return }
            o.update(repeating: 0, count: bc * oh * ow)
            x.withUnsafeBufferPointer { xb in
                guard let xp = xb.baseAddress else { return }
                for plane in 0..<bc {
                    for y in 0..<h {
                        (o + plane * oh * ow + (y + p.top) * ow + p.left).update(from: xp + plane * h * w + y * w, count: w)
                    }
                }
            }
        }
    }
}
