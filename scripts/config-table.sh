#!/usr/bin/env bash
# Regenerates the table of settings in README.md ("## Configuration") from the
# clap definitions in src/config/: prints `endorse config-table` between the
# <!-- config-table:start --> and <!-- config-table:end --> markers and leaves
# the rest of the README as it is. A unit test (config::table) fails while the
# README's table differs from the generated one.
#
#   scripts/config-table.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start='<!-- config-table:start -->'
end='<!-- config-table:end -->'
if [ "$(grep -cxF -e "$start" -e "$end" README.md)" != 2 ]; then
  echo "config-table: README.md needs exactly one '$start' and one '$end' line" >&2
  exit 1
fi

table=$(cargo run --quiet --locked -- config-table)
updated=$(TABLE="$table" START="$start" END="$end" awk '
  $0 == ENVIRON["START"] { print; print ""; print ENVIRON["TABLE"]; print ""; skipping = 1; next }
  $0 == ENVIRON["END"]   { skipping = 0 }
  !skipping              { print }
' README.md)
# Written in place (not moved over) so that the file keeps its mode.
printf '%s\n' "$updated" > README.md
echo "config-table: README.md updated" >&2
