#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then unit, property
# and integration tests against real MongoDB-protocol and S3-protocol servers
# (fresh, throwaway instances on free ports).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh install
# The GraphQL-over-HTTP audit runs the graphql-http npm package.
npm ci --prefix tests/http-audit --no-audit --no-fund --loglevel=error
# The rater page is tested in Debian's Chromium (headless) through
# playwright-core, with axe-core's accessibility rules.
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
if [ -z "${ENDORSE_TEST_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "test: installing chromium (Debian) for the browser test" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null
fi
cargo fmt --all -- --check
# The compose file parses wherever Docker Compose v2 is installed (CI machines
# have no Docker engine; the file is kept correct by review there).
if docker compose version >/dev/null 2>&1; then
  docker compose -f docker/compose.yaml config --quiet
fi
cargo clippy --all-targets --locked -- -D warnings
scripts/services.sh run -- cargo test --locked "$@"
