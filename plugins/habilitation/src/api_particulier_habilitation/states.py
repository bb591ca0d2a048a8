"""The life of an access request, as DataPass has it: states, events and who may fire them.

The table is the whole rule: an event is allowed from the states it lists, to the actor
roles it lists; anything else is refused with a sentence saying why, and nothing changes.
A message changes no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    draft = "draft"
    submitted = "submitted"
    changes_requested = "changes_requested"
    validated = "validated"
    refused = "refused"
    revoked = "revoked"
    archived = "archived"


class Event(StrEnum):
    create = "create"
    submit = "submit"
    request_changes = "request_changes"
    refuse = "refuse"
    approve = "approve"
    revoke = "revoke"
    archive = "archive"
    reopen = "reopen"
    message = "message"


class Role(StrEnum):
    requester = "requester"
    instructor = "instructor"
    # DataPass's webhook and the operators' command line act as instructors would.
    system = "system"


STATE_LABELS = {
    State.draft: "Brouillon",
    State.submitted: "En cours d'instruction",
    State.changes_requested: "Modifications demandées",
    State.validated: "Validée",
    State.refused: "Refusée",
    State.revoked: "Révoquée",
    State.archived: "Archivée",
}

EVENT_LABELS = {
    Event.create: "Demande créée",
    Event.submit: "Demande soumise",
    Event.request_changes: "Modifications demandées",
    Event.refuse: "Demande refusée",
    Event.approve: "Demande validée",
    Event.revoke: "Habilitation révoquée",
    Event.archive: "Demande archivée",
    Event.reopen: "Demande réouverte pour mise à jour",
    Event.message: "Message",
}


@dataclass(frozen=True)
class Rule:
    sources: frozenset[State]
    target: State | None  # None: the state does not change
    roles: frozenset[Role]


_ANY_STATE = frozenset(State)
_INSTRUCTING = frozenset({Role.instructor, Role.system})

RULES: dict[Event, Rule] = {
    Event.submit: Rule(
        frozenset({State.draft, State.changes_requested}),
        State.submitted,
        frozenset({Role.requester, Role.system}),
    ),
    Event.request_changes: Rule(
        frozenset({State.submitted}), State.changes_requested, _INSTRUCTING
    ),
    Event.refuse: Rule(
        frozenset({State.submitted, State.changes_requested}), State.refused, _INSTRUCTING
    ),
    Event.approve: Rule(frozenset({State.submitted}), State.validated, _INSTRUCTING),
    # From any state a request holding an application's keys may be in (reopened for an
    # update, then archived or refused): a key can always be revoked. The workflow
    # refuses a request that never had an application.
    Event.revoke: Rule(_ANY_STATE - {State.revoked}, State.revoked, _INSTRUCTING),
    Event.archive: Rule(
        frozenset(
            {State.draft, State.submitted, State.changes_requested, State.refused, State.revoked}
        ),
        State.archived,
        frozenset({Role.requester, *_INSTRUCTING}),
    ),
    Event.reopen: Rule(
        frozenset({State.validated}), State.draft, frozenset({Role.requester, Role.system})
    ),
    Event.message: Rule(_ANY_STATE, None, frozenset({Role.requester, *_INSTRUCTING})),
}
# A requester archives only what is not being instructed (DataPass: draft, changes asked).
_REQUESTER_ARCHIVES = frozenset({State.draft, State.changes_requested})
# The states in which a request's form may still change.
EDITABLE = frozenset({State.draft, State.changes_requested})
# What a requester may do on a request instructed in DataPass: DataPass is where it changes.
_REQUESTER_ON_DATAPASS = frozenset({Event.message})


def requester_may_edit(state: State, *, from_datapass: bool) -> bool:
    """Whether the requester may edit the form of a request in ``state`` (never one of
    DataPass's, as :func:`next_state` refuses them every event but a message)."""
    return state in EDITABLE and not from_datapass


class NotAllowed(Exception):
    """An event refused in the current state or for this actor; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def next_state(state: State, event: Event, role: Role, *, from_datapass: bool = False) -> State:
    """The state after ``event`` fired by ``role`` in ``state``, or :class:`NotAllowed`;
    ``from_datapass``: the request is one of DataPass's."""
    rule = RULES.get(event)
    if rule is None:
        raise NotAllowed("Cette action n'existe pas.")
    if role not in rule.roles:
        raise NotAllowed("Vous n'avez pas le droit d'effectuer cette action.")
    if from_datapass and role is Role.requester and event not in _REQUESTER_ON_DATAPASS:
        raise NotAllowed("Cette demande est instruite dans DataPass : modifiez-la dans DataPass.")
    allowed = rule.sources
    if event is Event.archive and role is Role.requester:
        allowed = _REQUESTER_ARCHIVES
    if state not in allowed:
        raise NotAllowed(
            f"Action impossible : la demande est dans l'état « {STATE_LABELS[state]} »."
        )
    return rule.target if rule.target is not None else state
