"""Schemathesis hooks for npm run fuzz (scripts/fuzz.sh loads them with SCHEMATHESIS_HOOKS).

- Hub callbacks: a generated callback that is a valid absolute http(s) URL is replaced by a URL
  of the loopback listener the script started (FUZZ_LISTENER), so subscriptions are real and
  the events of the carts the fuzzer creates are really delivered. Invalid callbacks (the
  negative cases) are left as generated.
- The ignore list (scripts/fuzz/ignore.json): a failure is dropped only when an entry names its
  check and its operation and, where the entry gives one, the TMF Error reason of the answer
  (`reason`, exact, or `reasonMatches`, a regular expression);
  every entry says why it is a false positive.
"""

import itertools
import json
import os
import re

import schemathesis

LISTENER = os.environ["FUZZ_LISTENER"]
CALLBACK = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+(?:[/?#]\S*)?$")
counter = itertools.count()

with open(os.environ["FUZZ_IGNORE"], encoding="utf-8") as f:
    IGNORED = json.load(f)["ignore"]
for entry in IGNORED:
    if not (entry.get("check") and entry.get("operation") and entry.get("why")):
        raise ValueError(f"ignore.json: every entry needs check, operation and why: {entry}")


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if operation is None or operation.method.upper() != "POST" or operation.path != "/hub":
        return body
    if isinstance(body, dict) and isinstance(body.get("callback"), str) and CALLBACK.match(body["callback"]):
        return {**body, "callback": f"{LISTENER}/listener/{next(counter)}"}
    return body


def error_reason(response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    return body.get("reason") if isinstance(body, dict) else None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    for entry in IGNORED:
        if entry["check"] not in failure.checks or entry["operation"] != label:
            continue
        reason = error_reason(response)
        if "reason" in entry and entry["reason"] != reason:
            continue
        if "reasonMatches" in entry and not (reason and re.search(entry["reasonMatches"], reason)):
            continue
        return False
    return True
