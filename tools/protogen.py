"""Generate the Python gRPC/protobuf modules for proto/v1 (committed; `--check` verifies they are current).

The .proto files are mapped to the virtual include path ``sottovoce/proto`` so the generated
imports read ``from sottovoce.proto.v1 import duplex_pb2`` and work in any install layout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "proto"
VIRTUAL_ROOT = "sottovoce/proto"


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over every proto/v1/*.proto; return the generated files under out_dir."""
    from grpc_tools import protoc  # dev-only dependency

    protos = sorted((PROTO_DIR / "v1").glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{VIRTUAL_ROOT}={PROTO_DIR}",
            f"-I{protoc_include()}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *(f"{VIRTUAL_ROOT}/v1/{p.name}" for p in protos),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed: " + " ".join(args))
        produced = sorted((Path(tmp) / VIRTUAL_ROOT / "v1").glob("*"))
        out_dir.mkdir(parents=True, exist_ok=True)
        result = []
        for f in produced:
            shutil.copy(f, out_dir / f.name)
            result.append(out_dir / f.name)
        return result


def protoc_include() -> str:
    import grpc_tools

    return str(Path(grpc_tools.__file__).parent / "_proto")


def stale_files() -> list[str]:
    """Names of committed generated files that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        return [
            f.name
            for f in fresh
            if not (PROTO_DIR / "v1" / f.name).exists() or (PROTO_DIR / "v1" / f.name).read_bytes() != f.read_bytes()
        ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed code is stale")
    args = ap.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated code: " + ", ".join(stale) + " (run python -m sottovoce.tools.protogen)")
            return 1
        print("generated code is current")
        return 0
    for f in generate(PROTO_DIR / "v1"):
        print("wrote", f.relative_to(PROTO_DIR.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
