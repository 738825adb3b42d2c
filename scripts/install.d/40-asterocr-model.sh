#!/usr/bin/env bash
# Extracts AsterNet's two asset files (asternet.onnx, vocab.json) from the asterocr wheel,
# pinned by hash in requirements/model-wheels.txt, into .cache/models/asterocr. The wheel is
# never installed: it also carries training code, a Kaggle bridge and a model download
# fallback that the project must not run. Idempotent: does nothing when the files are there.
set -euo pipefail
cd "$(dirname "$0")/../.."

DEST=".cache/models/asterocr"
ONNX_SHA256="10c96b533e1f64031d73edfddafd7d4b13595544f11891f0531bcd72cb29be80"

if [ -f "$DEST/vocab.json" ] && [ -f "$DEST/asternet.onnx" ] \
    && echo "$ONNX_SHA256  $DEST/asternet.onnx" | sha256sum --check --status; then
    exit 0
fi
echo "[install.d] extracting the AsterNet model from the asterocr wheel" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
grep -A1 '^asterocr==' requirements/model-wheels.txt > "$work/req.txt"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
    -r "$work/req.txt" -d "$work"
mkdir -p "$DEST"
"$PY" - "$work"/asterocr-*.whl "$DEST" <<'PYEOF'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    for name in ("asternet.onnx", "vocab.json"):
        with archive.open(f"asterocr/assets/{name}") as src, open(f"{dest}/{name}", "wb") as out:
            out.write(src.read())
PYEOF
echo "$ONNX_SHA256  $DEST/asternet.onnx" | sha256sum --check --quiet
