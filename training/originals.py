"""The SyncTalk_2D and Ultralight-Digital-Human networks, re-created from their published shapes.

Written for this project from the architectures' descriptions (no code of either project is
included). Module and parameter names follow the originals' state_dicts, so a checkpoint trained
with either project loads into these classes with `load_state_dict(strict=True)`; that is what
`export_original.py` relies on, and `tests/test_originals.py` checks the names and shapes against
a fingerprint of the originals' full-size state_dicts.

    family        image input        audio input per mode (one item)                        output
    synctalk_2d   [6, 320, 320]      ave [32, 16, 16]  hubert [32, 32, 32]  wenet [256, 16, 32]   [3, 320, 320]
    ultralight    [6, 160, 160]      hubert [16, 32, 32]  wenet [128, 16, 32]                     [3, 160, 160]

The image input is the reference crop and the masked crop, BGR, values in [0, 1]; the output is
sigmoid (BGR, [0, 1]). The audio input is the window of per-frame features (SyncTalk_2D: 16
frames i-8 .. i+7; Ultralight: 8 frames i-4 .. i+3) reshaped; "ave" features come from
`AveEncoder` (a mel window [1, 80, 16] -> 512).

`channels` is the UNet width: FULL (the originals' default) or MOBILE (the originals' reduced
"mobile device" setting, which this project's tests use so they stay fast). The audio branch's
input channels are fixed by the feature layout, whatever the width.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

FULL = (32, 64, 128, 256, 512)
MOBILE = (16, 32, 64, 128, 256)

FAMILIES = {
    # family: (model input size, crop border, down/up levels)
    "synctalk_2d": (320, 4, 5),
    "ultralight": (160, 4, 4),
}

# (family, mode) -> per-item audio input dims and window (first, last) of per-frame features.
AUDIO = {
    ("synctalk_2d", "ave"): ((32, 16, 16), (-8, 7)),
    ("synctalk_2d", "hubert"): ((32, 32, 32), (-8, 7)),
    ("synctalk_2d", "wenet"): ((256, 16, 32), (-8, 7)),
    ("ultralight", "hubert"): ((16, 32, 32), (-4, 3)),
    ("ultralight", "wenet"): ((128, 16, 32), (-4, 3)),
}

# Per-frame feature length of each audio mode, and the video rate the original runs it at.
FEATURE_DIM = {"ave": 512, "hubert": 2 * 1024, "wenet": 16 * 512}
FPS = {"ave": 25, "hubert": 25, "wenet": 20}


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise (stride), 1x1 project; BN after each."""

    def __init__(self, cin, cout, stride=1, residual=False, expand=2):
        super().__init__()
        hidden = cin * expand
        self.residual = residual and stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class DoubleConvDW(nn.Module):
    """Two inverted residuals: the first changes width (and may stride), the second adds."""

    def __init__(self, cin, cout, stride=2):
        super().__init__()
        self.double_conv = nn.Sequential(InvertedResidual(cin, cout, stride), InvertedResidual(cout, cout, 1, residual=True))

    def forward(self, x):
        return self.double_conv(x)


class InConvDw(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.inconv = nn.Sequential(InvertedResidual(cin, cout))

    def forward(self, x):
        return self.inconv(x)


class Down(nn.Module):
    """Halves the resolution (stride-2 depthwise), no pooling despite the attribute's name."""

    def __init__(self, cin, cout):
        super().__init__()
        self.maxpool_conv = nn.Sequential(DoubleConvDW(cin, cout, stride=2))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Bilinear x2 (align_corners=True), pad to the skip's size, concatenate, two blocks."""

    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = DoubleConvDW(cin, cout, stride=1)

    def forward(self, x, skip):
        x = self.up(x)
        dy = skip.shape[2] - x.shape[2]
        dx = skip.shape[3] - x.shape[3]
        x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x, skip], dim=1))


class OutConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class AudioBranch(nn.Module):
    """The audio input down to the bottleneck's [ch4, 10, 10], for one (family, mode).

    Two layouts: for ave/hubert features the first blocks widen ch0 -> ch1 -> ch2 and conv3 goes
    to ch3; for wenet features the input is already wide, so every block up to conv5 stays at ch3
    and conv3 halves the width axis. conv5 (padding 3, stride 2) gives the 10 x 10 bottleneck.
    """

    def __init__(self, family, mode, ch):
        super().__init__()
        cin = AUDIO[(family, mode)][0][0]
        if mode == "wenet":
            first_out, mid = ch[3], ch[3]
            # SyncTalk_2D's wenet input is already ch3 wide (256) and its first block adds.
            self.conv1 = InvertedResidual(cin, first_out, residual=family == "synctalk_2d")
            self.conv2 = InvertedResidual(first_out, mid, residual=True)
            conv3_stride = (1, 2)
        else:
            self.conv1 = InvertedResidual(cin, ch[1])
            self.conv2 = InvertedResidual(ch[1], ch[2])
            mid = ch[3]
            conv3_stride = 1 if mode == "ave" else 2
        self.conv3 = nn.Conv2d(ch[2] if mode != "wenet" else mid, mid, kernel_size=3, padding=1, stride=conv3_stride)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = InvertedResidual(mid, mid, residual=True)
        self.conv5 = nn.Conv2d(mid, ch[4], kernel_size=3, padding=3, stride=2)
        self.bn5 = nn.BatchNorm2d(ch[4])
        self.relu = nn.ReLU()
        self.conv6 = InvertedResidual(ch[4], ch[4], residual=True)
        self.conv7 = InvertedResidual(ch[4], ch[4], residual=True)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.conv4(x)
        x = self.relu(self.bn5(self.conv5(x)))
        return self.conv7(self.conv6(x))


class LipSyncUNet(nn.Module):
    """unet_328.Model (synctalk_2d, five levels) or unet.Model (ultralight, four levels)."""

    def __init__(self, family="synctalk_2d", mode="ave", channels=FULL):
        super().__init__()
        if (family, mode) not in AUDIO:
            raise ValueError(f"no {mode} mode in {family}")
        ch = channels
        self.family, self.mode = family, mode
        self.levels = FAMILIES[family][2]
        self.audio_model = AudioBranch(family, mode, ch)
        self.fuse_conv = nn.Sequential(DoubleConvDW(ch[4] * 2, ch[4], stride=1), DoubleConvDW(ch[4], ch[3], stride=1))
        self.inc = InConvDw(6, ch[0])
        if self.levels == 5:
            # The extra level keeps ch0 at half resolution: 320 -> 160 -> 80 -> 40 -> 20 -> 10.
            widths = [ch[0], ch[0], ch[1], ch[2], ch[3], ch[4]]
            ups = [(ch[4], ch[3] // 2), (ch[3], ch[2] // 2), (ch[2], ch[1] // 2), (ch[1], ch[0]), (ch[1], ch[0] // 2)]
        else:
            widths = [ch[0], ch[1], ch[2], ch[3], ch[4]]
            ups = [(ch[4], ch[3] // 2), (ch[3], ch[2] // 2), (ch[2], ch[1] // 2), (ch[1], ch[0])]
        for i in range(self.levels):
            setattr(self, f"down{i + 1}", Down(widths[i], widths[i + 1]))
        for i, (cin, cout) in enumerate(ups):
            setattr(self, f"up{i + 1}", Up(cin, cout))
        self.outc = OutConv(ups[-1][1], 3)

    def forward(self, x, audio_feat):
        skips = [self.inc(x)]
        for i in range(self.levels):
            skips.append(getattr(self, f"down{i + 1}")(skips[-1]))
        x = self.fuse_conv(torch.cat([skips[-1], self.audio_model(audio_feat)], dim=1))
        for i in range(self.levels):
            x = getattr(self, f"up{i + 1}")(x, skips[-2 - i])
        return torch.sigmoid(self.outc(x))


class ConvBN(nn.Module):
    """Conv (with bias), BN, ReLU; `residual` adds the input before the ReLU."""

    def __init__(self, cin, cout, kernel, stride, padding, residual=False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x):
        y = self.conv_block(x)
        return self.act(y + x if self.residual else y)


class AveEncoder(nn.Module):
    """SyncTalk_2D's "ave" audio encoder (Wav2Lip's SyncNet audio tower): mel [1, 80, 16] -> 512.

    State-dict keys are `audio_encoder.N...`; the released `audio_visual_encoder.pth` stores them
    without that prefix.
    """

    def __init__(self):
        super().__init__()
        spec = [  # cin, cout, kernel, stride, padding, residual
            (1, 32, 3, 1, 1, False), (32, 32, 3, 1, 1, True), (32, 32, 3, 1, 1, True),
            (32, 64, 3, (3, 1), 1, False), (64, 64, 3, 1, 1, True), (64, 64, 3, 1, 1, True),
            (64, 128, 3, 3, 1, False), (128, 128, 3, 1, 1, True), (128, 128, 3, 1, 1, True),
            (128, 256, 3, (3, 2), 1, False), (256, 256, 3, 1, 1, True),
            (256, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False),
        ]
        self.audio_encoder = nn.Sequential(*[ConvBN(*s) for s in spec])

    def forward(self, mel):
        return self.audio_encoder(mel).flatten(1)


def randomize(net, seed, example=None):
    """Random weights (fixed seed), so outputs depend on every input. With `example` inputs the
    BatchNorm statistics are then measured on them, as training would, so activations keep a
    sane scale through the depth and the output is not saturated."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.state_dict().items():
            if not p.is_floating_point():
                continue
            if name.endswith("running_var"):
                p.fill_(1.0)
            elif name.endswith("running_mean"):
                p.zero_()
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight") and p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = max(1, p[0].numel())
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        if example is not None:
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.reset_running_stats()
                    m.momentum = None          # a plain average over the calibration batches
            net.train()
            net(*example)
    return net.eval()


def example_inputs(family, mode, batch=2, seed=0):
    """Random inputs of the right shapes: a [0, 1] image pair and unit-variance features."""
    g = torch.Generator().manual_seed(seed)
    size = FAMILIES[family][0]
    return torch.rand(batch, 6, size, size, generator=g), torch.randn(batch, *AUDIO[(family, mode)][0], generator=g)


def swap_channels(net):
    """A copy of `net` that reads and writes RGB where `net` reads and writes BGR (and back):
    the first layer's input channels and the output layer's channels reversed per half."""
    import copy
    twin = copy.deepcopy(net)
    with torch.no_grad():
        first = twin.inc.inconv[0].conv[0].weight
        first.copy_(first[:, [2, 1, 0, 5, 4, 3]])
        out = twin.outc.conv
        out.weight.copy_(out.weight[[2, 1, 0]])
        out.bias.copy_(out.bias[[2, 1, 0]])
    return twin
