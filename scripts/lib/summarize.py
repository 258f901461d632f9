"""Prints an admin API list answer (stdin) one line per item, for scripts/dev.sh."""
import json
import sys

path = sys.argv[1]
items = json.load(sys.stdin).get("items", [])
for c in items:
    if path.endswith("/customers"):
        follows = "; ".join(
            f"{f.get('userid')} [{', '.join(t.get('tag_name', '') for t in f.get('tags', []))}]"
            for f in c.get("follow_users", [])
        )
        print(f"  {c.get('external_userid', ''):<12} {c.get('name') or '':<6} followed by {follows}")
    elif path.endswith("/groups"):
        gone = " (dismissed)" if c.get("dismissed") else ""
        print(f"  {c.get('chat_id', ''):<12} {c.get('name') or '':<8} owner {c.get('owner')}, {c.get('member_count')} members{gone}")
    else:
        print("  " + json.dumps(c, ensure_ascii=False))
print(f"  ({len(items)} items; the curl above shows them all)")
