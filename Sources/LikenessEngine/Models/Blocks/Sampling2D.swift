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

    /// [B, C, H, W] → [B, C', 2H, 2W], or to `outputSize` (height, width) when given.
    public func callAsFunction(_ x: Tensor, outputSize: (Int, Int)? = nil) -> Tensor {
        conv(upsampled(x, outputSize: outputSize))
    }

    /// Replaces `x` with the block's output (the same values), for a caller with no further use
    /// for the input: `x` is freed once upsampled, before the convolution runs.
    public func apply(to x: inout Tensor, outputSize: (Int, Int)? = nil) {
        x = upsampled(x, outputSize: outputSize)
        x = conv(x)
    }

    private func upsampled(_ x: Tensor, outputSize: (Int, Int)?) -> Tensor {
        outputSize.map { Ops.upsampleNearest(x, outHeight: $0.0, outWidth: $0.1) } ?? Ops.upsampleNearest2x(x)
    }
}
