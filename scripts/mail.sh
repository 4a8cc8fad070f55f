#!/usr/bin/env bash
# Reads the mail the local SMTP server (started by scripts/services.sh for
# scripts/dev.sh) received: one file per message in .services/mail/new.
#
#   scripts/mail.sh          list: time, recipient, subject
#   scripts/mail.sh last     the newest message, text part, links included
set -euo pipefail
MAILDIR=${ENDORSE_TEST_MAILDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.services/mail}
[ -d "$MAILDIR/new" ] || { echo "no mail yet in $MAILDIR (is scripts/dev.sh running?)" >&2; exit 1; }
python3 - "$MAILDIR" "${1:-list}" <<'PY'
import email, email.policy, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
messages = sorted((m for m in box), key=lambda m: m.get_date() if hasattr(m, "get_date") else 0)
messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in messages]
if sys.argv[2] == "last":
    if not messages:
        sys.exit("no mail yet")
    m = messages[-1]
    print(f"To: {m['to']}\nSubject: {m['subject']}\nDate: {m['date']}\n")
    print(m.get_body(preferencelist=("plain",)).get_content())
else:
    for m in messages:
        print(f"{m['date']}  {m['to']}  {m['subject']}")
    print(f"{len(messages)} message(s) in {sys.argv[1]}/new")
PY
