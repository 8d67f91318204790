#!/usr/bin/env bash
# Regenerate the gRPC Python modules under toutiao/protos from their .proto files.
# Needs grpcio-tools (the "dev" extra). Usage: scripts/gen_protos.sh [python]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-${PYTHON:-.venv/bin/python}}"
OUT=toutiao/protos

for proto in "$OUT"/*.proto; do
  name="$(basename "$proto" .proto)"
  "$PYTHON" -m grpc_tools.protoc -I "$OUT" \
    --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" "$proto"
  # protoc writes absolute imports ("import reco_pb2"); make them package-relative.
  sed -i.bak -E "s/^import ${name}_pb2 as /from . import ${name}_pb2 as /" "$OUT/${name}_pb2_grpc.py"
  rm -f "$OUT/${name}_pb2_grpc.py.bak"
  # Generated code is not ours to lint.
  for file in "$OUT/${name}_pb2.py" "$OUT/${name}_pb2.pyi" "$OUT/${name}_pb2_grpc.py"; do
    if ! head -n 1 "$file" | grep -q '^# ruff: noqa'; then
      printf '# ruff: noqa\n%s\n' "$(cat "$file")" > "$file"
    fi
  done
done
# Formatted like the rest of the tree, so a regeneration only shows real changes.
"$PYTHON" -m ruff format --quiet "$OUT"/*_pb2*.py* || echo "ruff not available: left unformatted" >&2
echo "generated: $(ls "$OUT"/*_pb2*.py* | tr '\n' ' ')"
