#!/usr/bin/env bash
# Apache Kafka's broker jars (version pinned in scripts/kafka/pom.xml) and our log4j2 config,
# fetched from Maven Central into .cache/kafka/<version>/{libs,config}; .cache/kafka/current
# points at it (the default of SOTAY_KAFKA_HOME). Idempotent; silent when already in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

POM=scripts/kafka/pom.xml
LOG4J_CONFIG=scripts/kafka/log4j2.properties
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
ROOT=.cache/kafka
HOME_DIR="$ROOT/$VERSION"
STAMP="$HOME_DIR/.stamp"
WANT="$(cat "$POM" "$LOG4J_CONFIG" | sha256sum | cut -c1-16)"

log() { printf '\033[1;34m[kafka]\033[0m %s\n' "$*" >&2; }

is_current() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ "$(readlink "$ROOT/current" 2>/dev/null)" = "$VERSION" ]; }

is_current && exit 0

for tool in java mvn; do
    command -v "$tool" >/dev/null || { log "$tool not found (Debian packages of group core)"; exit 1; }
done

mkdir -p "$ROOT"
exec 9>"$ROOT/.lock"
flock 9
is_current && exit 0

log "fetching Apache Kafka $VERSION jars from Maven Central"
rm -rf "$HOME_DIR.tmp"
# Maven's quiet mode still writes stray colour codes: keep its output for failures only.
if ! out="$(mvn -q -B -Dstyle.color=never -f "$POM" -Dmaven.repo.local="$PWD/.cache/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$HOME_DIR.tmp/libs" 2>&1)"; then
    printf '%s\n' "$out" >&2
    log "maven failed"
    exit 1
fi
mkdir -p "$HOME_DIR.tmp/config"
cp "$LOG4J_CONFIG" "$HOME_DIR.tmp/config/log4j2.properties"
echo "$WANT" > "$HOME_DIR.tmp/.stamp"
rm -rf "$HOME_DIR"
mv "$HOME_DIR.tmp" "$HOME_DIR"
ln -sfn "$VERSION" "$ROOT/current"
