// Matches diffusers ResnetBlock2D (resnet_time_scale_shift "default", no up/down
// sampling inside the block, dropout inactive at inference):
//   h = conv1(act(norm1(x))); h += time_emb_proj(act(temb))[:, :, None, None]
//   h = conv2(act(norm2(h))); out = (conv_shortcut(x) or x + h) / output_scale_factor
// conv_shortcut is the 1x1 convolution diffusers adds when in_channels != out_channels.

/// diffusers `ResnetBlock2D`.
public struct ResnetBlock2D {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let time_emb_proj: Linear?
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let conv_shortcut: Conv2d?
    public let act: Activation
    public let outputScaleFactor: Float

    /// `tembChannels` nil: no time embedding (VAE blocks).
    public init(
        _ w: WeightScope, inChannels: Int, outChannels: Int, tembChannels: Int?,
        groups: Int, eps: Float, act: Activation = .silu, outputScaleFactor: Float = 1
    ) throws {
        norm1 = try GroupNorm(w["norm1"], groups: groups, channels: inChannels, eps: eps)
        conv1 = try Conv2d(w["conv1"], inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        time_emb_proj = try tembChannels.map { try Linear(w["time_emb_proj"], inFeatures: $0, outFeatures: outChannels) }
        norm2 = try GroupNorm(w["norm2"], groups: groups, channels: outChannels, eps: eps)
        conv2 = try Conv2d(w["conv2"], inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        conv_shortcut = inChannels != outChannels
            ? try Conv2d(w["conv_shortcut"], inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
            : nil
        self.act = act
        self.outputScaleFactor = outputScaleFactor
    }

    /// `x` [B, Cin, H, W], `temb` [B, T] → [B, Cout, H, W]
    public func callAsFunction(_ x: Tensor, temb: Tensor?) -> Tensor {
        var h = normAct(norm1, x)
        h = conv1(h)
        if let proj = time_emb_proj, let temb {
            let t = proj(Ops.activated(temb, act)) // [B, Cout]
            Ops.addChannelBias(&h, t)
        }
        h = normAct(norm2, h)
        h = conv2(h)
        var out = conv_shortcut.map { $0(x) } ?? x
        Ops.addInPlace(&out, h)
        if outputScaleFactor != 1 { Ops.scaleInPlace(&out, 1 / outputScaleFactor) }
        return out
    }

    private func normAct(_ norm: GroupNorm, _ x: Tensor) -> Tensor {
        if act == .silu { return norm(x, silu: true) }
        return Ops.activated(norm(x), act)
    }
}
