"""The lip-sync network: a mel-window audio encoder and a small UNet (SyncTalk_2D / Ultralight style).

    audio_encoder: mel [B, 1, 80, 16]                      -> feature [B, 64]
    unet:          image [B, 6, 128, 128] (reference crop, masked crop; RGB in [0, 1])
                   audio [B, 8, 64] (features of frames j-7 .. j, oldest first)
                                                         -> output [B, 3, 128, 128] in [0, 1]

The encoder runs once per video frame; the UNet reuses the last eight features, so the audio cost
per frame stays one encoder pass: 0.33 GMAC (UNet) + 0.03 GMAC (encoder) per frame. Plain 3x3
convolutions rather than depthwise ones: on CPU they train three times faster per MAC.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .constants import AUDIO_CONTEXT, AUDIO_FEATURE_DIM, MEL_WINDOW, N_MELS


def conv(cin, cout, stride=1, kernel=3):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class AudioEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            conv(1, 32),                      # 80 x 16
            conv(32, 64, stride=2),           # 40 x 8
            conv(64, 64),
            conv(64, 96, stride=2),           # 20 x 4
            conv(96, 96),
            conv(96, 128, stride=2),          # 10 x 2
            nn.Conv2d(128, 128, (10, 2)),     # 1 x 1
            nn.ReLU(inplace=True),
        )
        self.proj = nn.Linear(128, AUDIO_FEATURE_DIM)

    def forward(self, mel):
        return self.proj(self.net(mel).flatten(1))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.e0 = conv(6, 16)                                                  # 128
        self.e1 = conv(16, 32, 2)                                              # 64
        self.e2 = nn.Sequential(conv(32, 64, 2), conv(64, 64))                 # 32
        self.e3 = nn.Sequential(conv(64, 96, 2), conv(96, 96))                 # 16
        self.e4 = conv(96, 128, 2)                                             # 8
        self.audio = nn.Sequential(nn.Linear(AUDIO_CONTEXT * AUDIO_FEATURE_DIM, 256),
                                   nn.ReLU(inplace=True), nn.Linear(256, 128))
        self.fuse = conv(256, 128)
        # Decoder: a 1x1 squeeze of (upsampled, skip) then a 3x3, which halves the MACs of a
        # plain 3x3 over the concatenation.
        self.d3 = nn.Sequential(conv(128 + 96, 96, kernel=1), conv(96, 96))   # 16
        self.d2 = nn.Sequential(conv(96 + 64, 64, kernel=1), conv(64, 64))    # 32
        self.d1 = nn.Sequential(conv(64 + 32, 32, kernel=1), conv(32, 32))    # 64
        self.d0 = nn.Sequential(conv(32 + 16, 16, kernel=1), conv(16, 16))    # 128
        self.out = nn.Conv2d(16, 3, 3, 1, 1)

    def forward(self, image, audio):
        return self.decode(image, self.embed_audio(audio))

    def embed_audio(self, audio):
        return self.audio(audio.flatten(1))

    def decode(self, image, embedding):
        x0 = self.e0(image)
        x1 = self.e1(x0)
        x2 = self.e2(x1)
        x3 = self.e3(x2)
        x4 = self.e4(x3)
        a = embedding[:, :, None, None].expand(-1, -1, x4.shape[2], x4.shape[3])
        y = self.fuse(torch.cat([x4, a], 1))
        y = self.d3(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), x3], 1))
        y = self.d2(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), x2], 1))
        y = self.d1(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), x1], 1))
        y = self.d0(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), x0], 1))
        return torch.sigmoid(self.out(y))


class LipSync(nn.Module):
    """Both networks, for joint training: mel windows of the context frames in, image out.

    `mouth` is a training-only head: it reads the mouth parameters (jaw, closure, width, round)
    off the audio embedding, which teaches the audio branch far faster than the pixels alone.
    It is not exported.
    """

    def __init__(self):
        super().__init__()
        self.encoder = AudioEncoder()
        self.unet = UNet()
        self.mouth = nn.Linear(128, 4)

    def forward(self, image, mels):
        # mels: [B, AUDIO_CONTEXT, 80, 16]
        b = mels.shape[0]
        feats = self.encoder(mels.reshape(b * AUDIO_CONTEXT, 1, N_MELS, MEL_WINDOW))
        return self.unet(image, feats.reshape(b, AUDIO_CONTEXT, AUDIO_FEATURE_DIM))


def count_macs(module: nn.Module, *inputs) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers)."""
    total = 0

    def hook(m, _inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        module.eval()
        module(*inputs)
    for h in handles:
        h.remove()
    return total
