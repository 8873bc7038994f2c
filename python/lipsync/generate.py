"""Regenerates the Python stubs of lipsync.v1 from the repository's proto/ with grpcio-tools.

    .venv/bin/python python/lipsync/generate.py            # writes src/lipsync/v1/
    .venv/bin/python python/lipsync/generate.py --check    # exits 1 if they are out of date

The stubs are committed, so the package installs without protoc. They are generated with the
grpcio-tools pinned in python/requirements.txt (its protoc makes protobuf 6.31 gencode, which
protobuf 6.31+ and 7.x runtimes accept; Pipecat needs protobuf < 7).
"""
import filecmp
import os
import shutil
import sys
import tempfile

from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROTO_ROOT = os.path.join(REPO, "proto")
PROTO = os.path.join(PROTO_ROOT, "lipsync", "v1", "lipsync.proto")
TARGET = os.path.join(HERE, "src", "lipsync", "v1")
FILES = ("lipsync_pb2.py", "lipsync_pb2.pyi", "lipsync_pb2_grpc.py")


def generate(out_root: str) -> str:
    """Runs protoc into out_root; returns the folder holding the three stubs."""
    import grpc_tools

    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={out_root}", f"--pyi_out={out_root}",
            f"--grpc_python_out={out_root}", PROTO]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return os.path.join(out_root, "lipsync", "v1")


def main() -> int:
    check = "--check" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        produced = generate(tmp)
        if check:
            stale = [f for f in FILES if not os.path.exists(os.path.join(TARGET, f))
                     or not filecmp.cmp(os.path.join(produced, f), os.path.join(TARGET, f), shallow=False)]
            if stale:
                print(f"stale stubs: {', '.join(stale)}; run python/lipsync/generate.py", file=sys.stderr)
                return 1
            return 0
        for f in FILES:
            shutil.copyfile(os.path.join(produced, f), os.path.join(TARGET, f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
