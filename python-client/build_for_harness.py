"""The harness's build of the Python client (interop.toml, the `python` entry): a copy of src/
with its bytecode compiled, which the harness runs instead of src/.

    python3 python-client/build_for_harness.py SRC OUT

The harness runs the client with PYTHONDONTWRITEBYTECODE=1, so that no __pycache__ appears in the
source tree; run from src/, Python would then compile each of the client's modules again at every
start (~7 ms of CPU, an eighth of a start). OUT, under target/, gets a copy of SRC with its
__pycache__. It is made again whenever a source changes (build.inputs); a copy that is stale all
the same (a source edited since, the harness not run) is still correct: Python checks each .pyc
against its source's modification time and size, and compiles the module anew when they differ.
"""

import compileall
import shutil
import sys


def main(argv: "list[str]") -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python3 build_for_harness.py SRC OUT\n")
        return 2
    src, out = argv[1], argv[2]
    shutil.rmtree(out, ignore_errors=True)
    # copy2 keeps the modification times, which each .pyc records and is checked against.
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return 0 if compileall.compile_dir(out, quiet=1) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
