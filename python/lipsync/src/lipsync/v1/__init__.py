"""Generated stubs of the lipsync.v1 API (proto/lipsync/v1/lipsync.proto): do not edit, run
python/lipsync/generate.py."""
