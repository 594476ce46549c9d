// Matches diffusers Downsample2D (use_conv=True: 3x3 conv, stride 2; with padding=0 it
// first applies F.pad(x, (0, 1, 0, 1)), which is folded into the conv's padding) and
// Upsample2D (use_conv=True, interpolate="nearest": F.interpolate(scale_factor=2) or to
// an explicit output size, then 3x3 conv with padding 1).

/// diffusers `Downsample2D` with a convolution.
public struct Downsample2D {
    public let conv: Conv2d
    public let padding: Ops.Padding2D

    public init(_ w: WeightScope, channels: Int, outChannels: Int? = nil, padding: Int) throws {
        conv = try Conv2d(w["conv"], inChannels: channels, outChannels: outChannels ?? channels,
                          kernelSize: 3, stride: 2, padding: padding)
        self.padding = padding == 0 ? Ops.Padding2D(top: 0, bottom: 1, left: 0, right: 1) : .uniform(padding)
    }

    /// [B, C, H, W] → [B, C', H', W']
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(x, padding: padding)
    }
}

/// diffusers `Upsample2D` with a convolution and nearest interpolation.
public struct Upsample2D {
    public let conv: Conv2d

    public init(_ w: WeightScope, channels: Int, outChannels: Int? = nil) throws {
        conv = try Conv2d(w["conv"], inChannels: channels, outChannels: outChannels ?? channels, kernelSize: 3, padding: 1)
    }

    /// [B, C, H, W] → [B, C', 2H, 2W], or to `outputSize` (height, width) when given. A plain 2x
    /// upsample is not built where the convolution runs on the Winograd path (Ops.conv2dUpsampled2x
    /// reads x in its input transform): the VAE's last upsampler would otherwise hold a 4x copy of
    /// its input (256 channels at 512x512: 268 MB) beside its output.
    public func callAsFunction(_ x: Tensor, outputSize: (Int, Int)? = nil) -> Tensor {
        if isPlain2x(x, outputSize: outputSize) { return conv(upsampling: x) }
        return conv(upsampled(x, outputSize: outputSize))
    }

    /// Replaces `x` with the block's output (the same values), for a caller with no further use
    /// for the input: `x` is freed once upsampled (or, read in place, once convolved).
    public func apply(to x: inout Tensor, outputSize: (Int, Int)? = nil) {
        if isPlain2x(x, outputSize: outputSize) { x = conv(upsampling: x); return }
        x = upsampled(x, outputSize: outputSize)
        x = conv(x)
    }

    private func isPlain2x(_ x: Tensor, outputSize: (Int, Int)?) -> Bool {
        guard x.rank == 4, conv.stride == 1 else { return false }
        guard let size = outputSize else { return true }
        return size.0 == 2 * x.shape[2] && size.1 == 2 * x.shape[3]
    }

    private func upsampled(_ x: Tensor, outputSize: (Int, Int)?) -> Tensor {
        outputSize.map { Ops.upsampleNearest(x, outHeight: $0.0, outWidth: $0.1) } ?? Ops.upsampleNearest2x(x)
    }
}
