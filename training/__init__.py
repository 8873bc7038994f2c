"""lipsync's training code: the demo avatar and its model, made from Debian packages alone.

A package, run from the repository root with Debian's Python (torch 1.13, CPU):

    /usr/bin/python3 -m training.make_demo               # everything in models/ (see README.md)
    /usr/bin/python3 -m training.finetune ROOT/NAME      # what `lipsync avatar train NAME` runs
    /usr/bin/python3 -m unittest discover -s training/tests -t .

Modules import each other relatively (`from . import face`), so nothing patches sys.path.
"""
