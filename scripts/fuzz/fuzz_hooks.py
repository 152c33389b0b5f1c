"""Schemathesis hooks for npm run fuzz (scripts/fuzz.sh loads them with SCHEMATHESIS_HOOKS).

- Hub callbacks: a generated callback that is a valid absolute http(s) URL is replaced by a URL
  of the loopback listener the script started (FUZZ_LISTENER), so subscriptions are real and
  the events of the carts the fuzzer creates are really delivered. Invalid callbacks (the
  negative cases) are left as generated.
- The ignore list (scripts/fuzz/ignore.json): a failure is dropped only when an entry names the
  API version fuzzed (FUZZ_VERSION, `versions`), its check and its operation and, where the entry
  gives them, the Schemathesis failure code (`code`, e.g. ST111) and a regular expression searched
  in the failure's message (`messageMatches`), the TMF Error reason of the answer
  (`reason`, exact, or `reasonMatches`, a regular expression), a regular expression searched in
  the TMF Error message of the answer (`errorMessageMatches`) and, where it names one, a
  condition on the case (`onlyIf`: `cart-expired`, the cart was created with an endDateTime that
  has passed; `cart-replayed`, the create was answered as the replay of an earlier create with
  the same Idempotency-Key, `Idempotent-Replayed: true`, so the cart may have been deleted since);
  every entry says why it is a false positive.
"""

import itertools
import json
import os
import re
from datetime import datetime, timedelta, timezone

import schemathesis

LISTENER = os.environ["FUZZ_LISTENER"]
VERSION = os.environ["FUZZ_VERSION"]
CALLBACK = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+(?:[/?#]\S*)?$")
counter = itertools.count()

with open(os.environ["FUZZ_IGNORE"], encoding="utf-8") as f:
    IGNORED = json.load(f)["ignore"]
for entry in IGNORED:
    if not (entry.get("versions") and entry.get("check") and entry.get("operation") and entry.get("why")):
        raise ValueError(f"ignore.json: every entry needs versions, check, operation and why: {entry}")
IGNORED = [entry for entry in IGNORED if VERSION in entry["versions"]]


# Carts the fuzzer created with a validFor.endDateTime (id -> that instant): once it has passed,
# every later operation on the cart is rightly a 404. Only those 404s may be ignored, so a cart
# that is really lost still fails the run. The end may be already past at creation, or a moment
# later (a generated end just after now).
CART_ENDS = {}
REPLAYED = set()
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|([+-])(\d{2}):(\d{2}))$"
)


def instant(text):
    """The instant an RFC 3339 date-time names (any spelling the server accepts), or None."""
    m = RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int(((m.group(7) or "") + "000000")[:6])
    offset = timedelta(0)
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        if m.group(9) == "-":
            offset = -offset
    try:
        local = datetime(year, month, day, hour, minute, min(second, 59), micros, tzinfo=timezone.utc)
    except ValueError:
        return None
    return local - offset


@schemathesis.hook
def after_call(context, case, response):
    if case.operation.method.upper() != "POST" or case.operation.path != "/shoppingCart":
        return
    if response.status_code != 201:
        return
    try:
        cart = json.loads(response.content)
    except (ValueError, TypeError):
        return
    if not isinstance(cart, dict):
        return
    if header_value(response, "Idempotent-Replayed") == "true":
        REPLAYED.add(cart.get("id"))
    # The answer's validFor, or the request's where `fields` left it out of the answer.
    sent = case.body if isinstance(case.body, dict) else {}
    valid_for = cart.get("validFor") if "validFor" in cart else sent.get("validFor")
    end = instant((valid_for if isinstance(valid_for, dict) else {}).get("endDateTime"))
    if end is not None:
        CART_ENDS[cart.get("id")] = end


def header_value(response, name):
    for key, value in (response.headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None


def cart_replayed(case):
    return (case.path_parameters or {}).get("id") in REPLAYED


def cart_expired(case):
    end = CART_ENDS.get((case.path_parameters or {}).get("id"))
    return end is not None and end <= datetime.now(timezone.utc)


CONDITIONS = {"cart-expired": cart_expired, "cart-replayed": cart_replayed}
for entry in IGNORED:
    if "onlyIf" in entry and entry["onlyIf"] not in CONDITIONS:
        raise ValueError(f"ignore.json: unknown onlyIf {entry['onlyIf']}: {entry}")


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if operation is None or operation.method.upper() != "POST" or operation.path != "/hub":
        return body
    if isinstance(body, dict) and isinstance(body.get("callback"), str) and CALLBACK.match(body["callback"]):
        return {**body, "callback": f"{LISTENER}/listener/{next(counter)}"}
    return body


def error_member(response, member):
    """A member of the answer's TMF Error (reason, message), or None."""
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    value = body.get(member) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    for entry in IGNORED:
        if entry["check"] not in failure.checks or entry["operation"] != label:
            continue
        if "code" in entry and entry["code"] != failure.code:
            continue
        if "messageMatches" in entry and not re.search(entry["messageMatches"], failure.message or ""):
            continue
        reason = error_member(response, "reason")
        if "reason" in entry and entry["reason"] != reason:
            continue
        if "reasonMatches" in entry and not (reason and re.search(entry["reasonMatches"], reason)):
            continue
        message = error_member(response, "message")
        if "errorMessageMatches" in entry and not (message and re.search(entry["errorMessageMatches"], message)):
            continue
        if "onlyIf" in entry and not CONDITIONS[entry["onlyIf"]](case):
            continue
        return False
    return True
