// Matches diffusers ResnetBlock2D (resnet_time_scale_shift "default", no up/down
// sampling inside the block, dropout inactive at inference):
//   h = conv1(act(norm1(x))); h += time_emb_proj(act(temb))[:, :, None, None]
//   h = conv2(act(norm2(h))); out = (conv_shortcut(x) or x + h) / output_scale_factor
// conv_shortcut is the 1x1 convolution diffusers adds when in_channels != out_channels.
// `apply(to:)` gives the same values for a caller that has no further use for x (the VAE),
// holding fewer planes at once (x read through norm1 by conv1, then overwritten by the shortcut
// and the residual sum).

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
        var h = x
        forward(&h, temb: temb, inputIsDead: false)
        return h
    }

    /// Replaces `x` [B, Cin, H, W] with the block's output [B, Cout, H, W], the same values as
    /// `callAsFunction`, for a caller with no further use for the input (the VAE, whose planes at
    /// 512x512 are 134-268 MB): with a shortcut, it reads `x` first and norm1 then overwrites `x`;
    /// each buffer is freed once dead.
    public func apply(to x: inout Tensor, temb: Tensor? = nil) {
        forward(&x, temb: temb, inputIsDead: true)
    }

    /// The block on `x`, replaced by the output. Norm2 and the activations always run in place
    /// (on conv1's output); with `inputIsDead` and a shortcut, norm1 too. The residual is added in
    /// conv2's or the shortcut's output pass (the same sums: addition is commutative).
    private func forward(_ x: inout Tensor, temb: Tensor?, inputIsDead: Bool) {
        if inputIsDead, act == .silu {
            forwardOverInput(&x, temb: temb)
            return
        }
        // The shortcut of a dead input, computed before norm1 overwrites it. [B, Cout, H, W]
        let early = inputIsDead ? conv_shortcut.map { $0(x) } : nil
        var h: Tensor
        if early != nil {
            h = x.take()
            normAct(norm1, &h)
        } else {
            h = norm1Act(x)
        }
        h = conv1(h) // [B, Cout, H, W]
        if let proj = time_emb_proj, let temb {
            let t = proj(Ops.activated(temb, act)) // [B, Cout]
            Ops.addChannelBias(&h, t)
        }
        normAct(norm2, &h)
        var out: Tensor
        if let early {
            out = conv2(h, adding: early, relu: false)
        } else if let shortcut = conv_shortcut {
            h = conv2(h)
            out = shortcut(x, adding: h, relu: false)
        } else {
            out = conv2(h, adding: x, relu: false)
        }
        if outputScaleFactor != 1 { Ops.scaleInPlace(&out, 1 / outputScaleFactor) }
        x = out
    }

    /// The block on a dead input (SiLU blocks): conv1 reads x through norm1 + SiLU on the fly
    /// (Winograd planes; smaller ones normalise a copy), a 1x1 shortcut then writes its output over
    /// x (one image, Cout <= Cin: the VAE decoder's 512 -> 256 and 256 -> 128 blocks; otherwise into
    /// a new tensor), and conv2 adds its sums onto that. On the decoder's large planes at most x and
    /// conv1's output are alive at once (the 256 -> 128 block at 512x512: 402 MB, not 536; the
    /// 128-channel blocks 268 MB, not 402). The same values as the other path.
    private func forwardOverInput(_ x: inout Tensor, temb: Tensor?) {
        var affine = Ops.groupNormAffine(x, groups: norm1.groups, weight: norm1.weight, bias: norm1.bias, eps: norm1.eps)
        affine.silu = true
        var h = Ops.conv2d(x, weight: conv1.gemmWeight, bias: conv1.bias, padding: conv1.padding, input: affine)
        precondition(conv1.stride == 1, "ResnetBlock2D: conv1 with stride \(conv1.stride)")
        if let proj = time_emb_proj, let temb {
            let t = proj(Ops.activated(temb, act)) // [B, Cout]
            Ops.addChannelBias(&h, t)
        }
        normAct(norm2, &h)
        if let shortcut = conv_shortcut { Ops.conv1x1InPlace(&x, weight: shortcut.gemmWeight, bias: shortcut.bias) }
        precondition(conv2.stride == 1, "ResnetBlock2D: conv2 with stride \(conv2.stride)")
        Ops.conv2d(h, weight: conv2.gemmWeight, bias: conv2.bias, padding: conv2.padding, addingTo: &x)
        if outputScaleFactor != 1 { Ops.scaleInPlace(&x, 1 / outputScaleFactor) }
    }

    private func norm1Act(_ x: Tensor) -> Tensor {
        if act == .silu { return norm1(x, silu: true) }
        return Ops.activated(norm1(x), act)
    }

    private func normAct(_ norm: GroupNorm, _ x: inout Tensor) {
        norm.apply(to: &x, silu: act == .silu)
        if act != .silu { Ops.activate(&x, act) }
    }
}
