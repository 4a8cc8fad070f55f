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
cargo clippy --all-targets --locked -- -D warnings
scripts/services.sh run -- cargo test --locked "$@"
