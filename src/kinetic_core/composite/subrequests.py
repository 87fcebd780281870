"""Composite requests (``/composite``), batches (``/composite/batch``) and trees (``/composite/tree``).

* :func:`composite` sends up to 25 steps in one call; a step can use the result of an earlier one
  through ``@{referenceId.path}`` (``@{newAccount.id}``). With ``all_or_none`` a failing step rolls
  back every step and the others answer ``PROCESSING_HALTED``.
* :func:`batch` sends up to 25 independent steps; ``halt_on_error`` stops at the first failure.
* :func:`tree` creates up to 200 records with their children (``Contacts`` under an Account) in one
  all-or-nothing call and gives back each record's id by reference id.

These calls may create records, so a call whose answer is lost is not sent again (see
``kinetic_core.http.retry``); the error raised says so. A step's own failure is not raised: it is in
its :class:`SubResponse` (``ok``, ``status``, ``errors``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kinetic_core.composite.results import ErrorDetail
from kinetic_core.errors import ApiError
from kinetic_core.http.paths import check_name
from kinetic_core.http.session import HttpSession
from kinetic_core.http.steps import ApiCall, Steps, run

MAX_STEPS = 25
"""Steps per composite or batch request."""
MAX_TREE_RECORDS = 200
"""Records per tree request, children included."""


@dataclass(frozen=True)
class SubRequest:
    """One step of a composite or batch request.

    Attributes:
        method: HTTP method (``GET``, ``POST``, ``PATCH``, ``PUT``, ``DELETE``).
        url: ``sobjects/Account`` (relative to the data API of the session's version) or a full
            ``/services/data/vXX.X/...`` path.
        reference_id: the step's name, for ``@{reference_id.field}`` in later steps (composite only;
            a batch ignores it). Letters, digits and underscores, starting with a letter.
        body: the JSON body, if any.
        headers: extra headers for the step (composite only; not Accept, Authorization, Content-Type).

    Example:
        >>> SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}).method
        'POST'
    """

    method: str
    url: str
    reference_id: str = ""
    body: Any = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SubResponse:
    """The answer to one step: HTTP status, body and headers; ``errors`` when it failed.

    Example:
        >>> SubResponse("acct", 201, {"id": "001000000000001AAA", "success": True}).ok
        True
    """

    reference_id: str
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def errors(self) -> list[ErrorDetail]:
        """The step's errors (empty when it succeeded)."""
        if self.ok:
            return []
        items = self.body if isinstance(self.body, list) else [self.body]
        return [ErrorDetail.from_save_error(item) for item in items if isinstance(item, Mapping)]


def _data_path(api_version: str, url: str) -> str:
    if url.startswith("/services/"):
        return url
    return f"/services/data/v{api_version}/{url.lstrip('/')}"


def _as_step(item: SubRequest | Mapping[str, Any], position: int) -> SubRequest:
    if isinstance(item, SubRequest):
        return item
    if isinstance(item, Mapping):
        known = {"method", "url", "reference_id", "body", "headers"}
        extra = set(item) - known
        if extra:
            raise ValueError(f"step {position}: unknown key(s) {sorted(extra)}; expected {sorted(known)}")
        return SubRequest(**item)
    raise TypeError(f"step {position} is a {type(item).__name__}, expected a SubRequest or a dict")


def _steps(items: Iterable[SubRequest | Mapping[str, Any]]) -> list[SubRequest]:
    steps = [_as_step(item, n) for n, item in enumerate(items)]
    if not 1 <= len(steps) <= MAX_STEPS:
        raise ValueError(f"a request takes 1 to {MAX_STEPS} steps, not {len(steps)}")
    for n, step in enumerate(steps):
        if step.method.upper() not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            raise ValueError(f"step {n}: unsupported method {step.method!r}")
    return steps


def composite(
    session: HttpSession,
    steps: Iterable[SubRequest | Mapping[str, Any]],
    *,
    all_or_none: bool = False,
    collate_subrequests: bool = False,
) -> list[SubResponse]:
    """Send up to 25 dependent steps in one ``/composite`` call (see ``composite_steps``)."""
    return run(
        session,
        composite_steps(
            session.api_version, steps, all_or_none=all_or_none, collate_subrequests=collate_subrequests
        ),
    )


def composite_steps(
    api_version: str,
    steps: Iterable[SubRequest | Mapping[str, Any]],
    *,
    all_or_none: bool = False,
    collate_subrequests: bool = False,
) -> Steps[list[SubResponse]]:
    """Send up to 25 dependent steps in one ``/composite`` call; one ``SubResponse`` per step, in order.

    Steps without a ``reference_id`` are named ``step0``, ``step1``... by position.

    Example:
        >>> responses = composite(client.http, [                                 # doctest: +SKIP
        ...     SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}),
        ...     SubRequest("POST", "sobjects/Contact", "boss", {"LastName": "Ng", "AccountId": "@{acct.id}"}),
        ... ], all_or_none=True)
        >>> next(composite_steps("62.0", [SubRequest("GET", "limits")])).url
        'composite'
    """
    named = [
        step if step.reference_id else SubRequest(step.method, step.url, f"step{n}", step.body, step.headers)
        for n, step in enumerate(_steps(steps))
    ]
    if len({step.reference_id for step in named}) != len(named):
        raise ValueError("every step needs its own reference_id")
    body = {
        "allOrNone": all_or_none,
        "collateSubrequests": collate_subrequests,
        "compositeRequest": [
            {
                "method": step.method.upper(),
                "url": _data_path(api_version, step.url),
                "referenceId": step.reference_id,
                **({"body": step.body} if step.body is not None else {}),
                **({"httpHeaders": dict(step.headers)} if step.headers else {}),
            }
            for step in named
        ],
    }
    answer = (yield ApiCall("POST", "composite", json=body, retry=False)).json()
    by_ref = {item.get("referenceId"): item for item in answer.get("compositeResponse", [])}
    responses = []
    for step in named:
        item = by_ref.get(step.reference_id)
        if item is None:
            raise ValueError(f"the composite answer has no response for step {step.reference_id!r}")
        responses.append(
            SubResponse(
                step.reference_id,
                int(item.get("httpStatusCode") or 0),
                item.get("body"),
                dict(item.get("httpHeaders") or {}),
            )
        )
    return responses


def batch(
    session: HttpSession,
    steps: Iterable[SubRequest | Mapping[str, Any]],
    *,
    halt_on_error: bool = False,
) -> list[SubResponse]:
    """Send up to 25 independent steps in one ``/composite/batch`` call (see ``batch_steps``)."""
    return run(session, batch_steps(session.api_version, steps, halt_on_error=halt_on_error))


def batch_steps(
    api_version: str,
    steps: Iterable[SubRequest | Mapping[str, Any]],
    *,
    halt_on_error: bool = False,
) -> Steps[list[SubResponse]]:
    """Send up to 25 independent steps in one ``/composite/batch`` call; one ``SubResponse`` per step.

    Each response's ``reference_id`` is the step's own, or its position (``"0"``, ``"1"``...).

    Example:
        >>> steps = [SubRequest("GET", "limits"), SubRequest("GET", "sobjects")]
        >>> done = batch(client.http, steps)  # doctest: +SKIP
    """
    steps_ = _steps(steps)
    body = {
        "haltOnError": halt_on_error,
        "batchRequests": [
            {
                "method": step.method.upper(),
                "url": _data_path(api_version, step.url).removeprefix("/services/data/"),
                **({"richInput": step.body} if step.body is not None else {}),
            }
            for step in steps_
        ],
    }
    answer = (yield ApiCall("POST", "composite/batch", json=body, retry=False)).json()
    results = answer.get("results") or []
    if len(results) != len(steps_):
        raise ValueError(f"the batch answer has {len(results)} results for {len(steps_)} steps")
    return [
        SubResponse(step.reference_id or str(n), int(item.get("statusCode") or 0), item.get("result"))
        for n, (step, item) in enumerate(zip(steps_, results, strict=True))
    ]


@dataclass(frozen=True)
class TreeResult:
    """What a tree request created, by reference id; ``errors`` when it was refused (nothing saved).

    Attributes:
        ids: reference id -> new record id, for every record (children included) when ``ok``.
        errors: reference id -> its errors, when the request was refused.
        reference_ids: the reference id of every record, in the order they were given (parents before
            their children), so ``ids[reference_ids[0]]`` is the first top-level record's id.

    Example:
        >>> TreeResult({"ref1": "001000000000001AAA"}, {}, ["ref1"]).ok
        True
    """

    ids: dict[str, str]
    errors: dict[str, list[ErrorDetail]]
    reference_ids: list[str]

    @property
    def ok(self) -> bool:
        """True when every record was created."""
        return not self.errors


ChildTypes = Callable[[str], Mapping[str, str]]
"""Relationship name -> child object name, for a parent object (from its describe)."""

ChildTypeSteps = Callable[[str], Steps[Mapping[str, str]]]
"""``ChildTypes`` as steps: may call the API (a describe) to answer."""


def child_types_of(describe: Mapping[str, Any]) -> dict[str, str]:
    """Relationship name (lower case) -> child object, from an object's describe.

    Example:
        >>> relation = {"relationshipName": "Contacts", "childSObject": "Contact"}
        >>> child_types_of({"childRelationships": [relation]})
        {'contacts': 'Contact'}
    """
    relations = describe.get("childRelationships") or []
    return {
        str(r["relationshipName"]).lower(): str(r["childSObject"])
        for r in relations
        if r.get("relationshipName") and r.get("childSObject")
    }


def described_child_types(describe: Callable[[str], Steps[Mapping[str, Any]]]) -> ChildTypeSteps:
    """``ChildTypeSteps`` reading each parent's describe through ``describe`` (a client's cache)."""

    def steps(parent: str) -> Steps[Mapping[str, str]]:
        return child_types_of((yield from describe(parent)))

    return steps


def _known(child_types: ChildTypes) -> ChildTypeSteps:
    def steps(parent: str) -> Steps[Mapping[str, str]]:
        return child_types(parent)
        yield  # a generator that calls nothing

    return steps


class _TreeBuilder:
    """Adds ``attributes`` (type, reference id) to every record, and finds children's types."""

    def __init__(self, child_types: ChildTypeSteps) -> None:
        self.child_types = child_types
        self.counter = itertools.count(1)
        self.reference_ids: list[str] = []
        self.records = 0

    def record(self, sobject: str, record: Mapping[str, Any], where: str) -> Steps[dict[str, Any]]:
        if not isinstance(record, Mapping):
            raise TypeError(f"{where} is a {type(record).__name__}, expected a dict")
        self.records += 1
        attributes = dict(record.get("attributes") or {})
        kind = str(attributes.get("type") or sobject)
        reference = str(attributes.get("referenceId") or f"ref{next(self.counter)}")
        self.reference_ids.append(reference)
        out: dict[str, Any] = {"attributes": {"type": kind, "referenceId": reference}}
        for name, value in record.items():
            if name == "attributes":
                continue
            children = value.get("records") if isinstance(value, Mapping) else value
            if isinstance(children, list) and all(isinstance(child, Mapping) for child in children):
                child_type = (yield from self.child_types(kind)).get(name.lower())
                if child_type is None and any(
                    not (child.get("attributes") or {}).get("type") for child in children
                ):
                    raise ValueError(f"{where}.{name}: {kind} has no child relationship named {name!r}")
                built = []
                for n, child in enumerate(children):
                    built.append((yield from self.record(child_type or "", child, f"{where}.{name}[{n}]")))
                out[name] = {"records": built}
            else:
                out[name] = value
        return out


def tree(
    session: HttpSession,
    sobject: str,
    records: Sequence[Mapping[str, Any]],
    *,
    child_types: ChildTypes,
) -> TreeResult:
    """Create ``records`` of ``sobject`` with their children in one ``/composite/tree`` call.

    Children go under their relationship name, as a list or as ``{"records": [...]}``. Records need
    no ``attributes``: the type (from the parent's child relationships) and a reference id
    (``ref1``, ``ref2``... in the order given) are added; ones given are kept.

    Example:
        >>> done = tree(client.http, "Account", [                                  # doctest: +SKIP
        ...     {"Name": "Acme", "Contacts": [{"LastName": "Ng"}, {"LastName": "Ito"}]},
        ... ], child_types=lambda parent: {"contacts": "Contact"})
        >>> done.ids[done.reference_ids[0]]                                        # doctest: +SKIP
        '001...'
    """
    return run(session, tree_steps(sobject, records, _known(child_types)))


def tree_steps(
    sobject: str, records: Sequence[Mapping[str, Any]], child_types: ChildTypeSteps
) -> Steps[TreeResult]:
    """``tree`` as steps; ``child_types`` may describe the parent objects it is asked about."""
    check_name(sobject)
    builder = _TreeBuilder(child_types)
    built = []
    for n, r in enumerate(records):
        built.append((yield from builder.record(sobject, r, f"record {n}")))
    body = {"records": built}
    if not 1 <= builder.records <= MAX_TREE_RECORDS:
        raise ValueError(f"a tree request takes 1 to {MAX_TREE_RECORDS} records, not {builder.records}")
    answer = yield from _tree_answer(sobject, body)
    ids: dict[str, str] = {}
    errors: dict[str, list[ErrorDetail]] = {}
    for item in answer.get("results") or []:
        reference = str(item.get("referenceId"))
        if item.get("errors"):
            errors[reference] = [ErrorDetail.from_save_error(e) for e in item["errors"]]
        elif item.get("id"):
            ids[reference] = str(item["id"])
    if answer.get("hasErrors") and not errors:
        errors["*"] = [ErrorDetail("UNKNOWN_EXCEPTION", "the tree request was refused without details")]
    return TreeResult(ids if not errors else {}, errors, builder.reference_ids)


def _tree_answer(sobject: str, body: Mapping[str, Any]) -> Steps[Any]:
    """The answer body: 201 when created; a refused tree (400) gives its per-record errors back."""
    try:
        return (yield ApiCall("POST", f"composite/tree/{sobject}", json=body, retry=False)).json()
    except ApiError as exc:
        refused = [e for e in exc.errors if e.get("referenceId")]
        if exc.status != 400 or not refused:
            raise
        results: dict[str, list[Mapping[str, Any]]] = {}
        for error in refused:
            results.setdefault(str(error["referenceId"]), []).append(error)
        return {"hasErrors": True, "results": [{"referenceId": r, "errors": e} for r, e in results.items()]}
