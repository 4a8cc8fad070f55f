#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then unit, property
# and integration tests against real MongoDB-protocol and S3-protocol servers
# (fresh, throwaway instances on free ports).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh install
# The GraphQL-over-HTTP audit runs the graphql-http npm package.
npm ci --prefix tests/http-audit --no-audit --no-fund --loglevel=error
cargo fmt --all -- --check
# The compose file parses wherever Docker Compose v2 is installed (CI machines
# have no Docker engine; the file is kept correct by review there).
if docker compose version >/dev/null 2>&1; then
  docker compose -f docker/compose.yaml config --quiet
fi
cargo clippy --all-targets --locked -- -D warnings
scripts/services.sh run -- cargo test --locked "$@"
