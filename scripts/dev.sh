#!/usr/bin/env bash
# Runs Endorse locally: installs and starts MongoDB, S3 and an SMTP server
# (data and mail kept in .services between runs), loads the demo data, prints
# the GraphiQL URL, where mail lands and ready-to-paste tokens, then serves
# until Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export ENDORSE_ENV=${ENDORSE_ENV:-development}
export ENDORSE_LISTEN=${ENDORSE_LISTEN:-127.0.0.1:8080}
export ENDORSE_METRICS_LISTEN=${ENDORSE_METRICS_LISTEN:-127.0.0.1:9464}
export ENDORSE_PUBLIC_URL=${ENDORSE_PUBLIC_URL:-http://$ENDORSE_LISTEN}
# Mail is retried quickly here, so a stopped mail server is noticed soon.
export ENDORSE_OUTBOX_RETRY_MS=${ENDORSE_OUTBOX_RETRY_MS:-2000}
cargo build --locked --quiet
BIN=target/debug/endorse

serve() {
  # Demo applicants, plus 500 synthetic portfolios so that reports have
  # numbers above the suppression threshold (same seed: re-runs add nothing).
  "$BIN" seed --demo --synthetic 500 --seed 1
  # The second demo association gets its own synthetic data (its own ids).
  "$BIN" seed --synthetic 200 --seed 1 --association ct-aimh
  local url="http://$ENDORSE_LISTEN"
  cat <<MSG

  Endorse is starting at $url
    GraphiQL:  $url/
    GraphQL:   $url/graphql
    Readiness: $url/readyz
    Registry:  $url/registry/nys-aimh   (verification: $url/verify/<endorsement number>)
    Metrics:   http://$ENDORSE_METRICS_LISTEN/metrics
    Mail:      every message the server sends lands in $ENDORSE_TEST_MAILDIR/new
               list it:  scripts/mail.sh       read the newest:  scripts/mail.sh last

  Development tokens (valid 8 hours; paste as "Authorization: Bearer <token>").
  Two associations, NYS-AIMH and CT-AIMH (its own rulebook): the same person
  has separate records in each, and nothing of one is visible in the other.
MSG
  local who association
  for association in nys-aimh ct-aimh; do
    printf '\n  %s\n' "$association"
    for who in "applicant-ada APPLICANT" "applicant-ben APPLICANT" "reviewer-rae REVIEWER" \
               "coordinator-cy COORDINATOR" "adviser-ana ADVISER" "reporter-rio REPORTER" "admin-al ADMIN"; do
      set -- $who
      printf '    %-16s %-12s %s\n' "$1" "$2" "$("$BIN" token --sub "$1" --role "$2" --association "$association")"
    done
  done
  printf '\n  platform\n    %-16s %-12s %s\n' root PLATFORM_ADMIN "$("$BIN" token --sub root --role PLATFORM_ADMIN)"
  cat <<MSG

  Try:
    curl -s $url/graphql -H 'content-type: application/json' \\
      -H "authorization: Bearer \$TOKEN" -d '{"query":"{ me { subject roles } }"}'

MSG
  exec "$BIN" serve
}
export -f serve
export BIN
scripts/services.sh run --persist -- bash -c serve
