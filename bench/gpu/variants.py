"""Model variants for the GPU measurement, made at staging time (bench/gpu/stage.sh), in a venv
with onnx and onnxconverter-common from PyPI (stage.sh sets it up under .tools/gpu-venv).

    python variants.py fp16 SRC.onnx DST.onnx    float16 weights and arithmetic, float32 inputs and
                                                 outputs (Cast nodes at the edges), so the server
                                                 feeds it exactly as it feeds the float32 file
    python variants.py round-weights MODEL.onnx  round a random-weight model's float32 weights to
                                                 4 significant bits (in place): still random, the
                                                 same work per frame, but both its files compress
                                                 to a fraction (the CUDA provider leaves little
                                                 room in the parts), and float16 holds them
                                                 exactly, so the fp16 file differs from the fp32
                                                 one by its arithmetic alone
    python variants.py package SRC DST UNET      an avatar package DST: SRC's manifest with its UNet
                                                 file set to UNET (and no model.cpu_variant), the
                                                 other files hard-linked
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def fp16(src: str, dst: str):
    from onnxconverter_common import float16
    model = onnx.load(src)
    # keep_io_types: float32 at the graph's inputs and outputs. Resize's scales and other shape
    # inputs stay float32 (the converter's default block list covers the ops that need it).
    half = float16.convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    onnx.checker.check_model(half)
    onnx.save(half, dst)


def round_weights(path: str):
    model = onnx.load(path)
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            bits = numpy_helper.to_array(init).astype(np.float32).view(np.uint32)
            # Sign, exponent and the top 3 mantissa bits, rounded to nearest; then through
            # float16, which also flushes what it cannot hold (weights under 6e-8) to zero.
            bits = (bits + np.uint32(0x00080000)) & np.uint32(0xFFF00000)
            a = bits.view(np.float32).astype(np.float16).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(a, init.name))
    onnx.save(model, path)


def package(src: str, dst: str, unet: str):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    for name in os.listdir(src):
        if name == "manifest.json" or name.endswith(".onnx"):
            continue
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(s):
            shutil.copytree(s, d, copy_function=os.link)
        else:
            os.link(s, d)
    with open(os.path.join(src, "manifest.json")) as f:
        m = json.load(f)
    model = m["model"]
    model.pop("cpu_variant", None)
    encoder = model.get("audio_encoder") if m["format_version"] == 1 else model["audio"]["frontend"].get("encoder", {}).get("file")
    if m["format_version"] == 1:
        model["unet"] = os.path.basename(unet)
    else:
        model["unet"]["file"] = os.path.basename(unet)
    os.link(unet, os.path.join(dst, os.path.basename(unet)))
    if encoder:
        os.link(os.path.join(src, encoder), os.path.join(dst, encoder))
    m["name"] = os.path.basename(dst)
    with open(os.path.join(dst, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"fp16": fp16, "round-weights": round_weights, "package": package}[cmd](*args)
