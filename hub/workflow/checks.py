"""Semantic checks of a workflow configuration: every problem, each with its path in the file.

Paths read like the YAML: ``ticket_types[finance.agreement-approval].flows[2].to: unknown stage
'aproved'``. Named things are ``[id]``; list items are ``[index]``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from hub.errors import ConfigurationError
from hub.workflow.config import (
    OPTION_SOURCES,
    EmitAction,
    RequireReasonAction,
    SetFieldAction,
    Stage,
    TicketType,
    WorkflowConfig,
)
from hub.workflow.script_checks import check_forms, check_scripts
from hub.workflow.templates import path_problem, placeholders
from schemas.events import EVENT_DATA

#: Fields of the configuration whose values are mappings keyed by id.
NAMED = frozenset(
    {
        "companies",
        "branches",
        "services",
        "service_groups",
        "classifications",
        "attendants",
        "locations",
        "delivery_locations",
        "ticket_types",
        "agreement_templates",
        "parameters",
        "stages",
        "fields",
        "forms",
        "scripts",
        "translations",
    }
)
_ACTION_TAGS = frozenset({"emit", "require_reason", "set_field"})


def render_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a path in the YAML file."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int) or previous in NAMED:
            out += f"[{part}]"
        elif isinstance(previous, int) and part in _ACTION_TAGS:
            continue  # the discriminator tag pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out or "(top level)"


#: Company id -> the ids of its branches.
Companies = Mapping[str, Collection[str]]


def parse_and_check(
    raw: Any, users: Collection[str] = (), companies: Companies | None = None
) -> WorkflowConfig:
    """Validate and check ``raw``; raise ``ConfigurationError`` with every problem found, in
    one pass: the structural ones, then the semantic ones of everything that is well-formed
    (see ``hub.workflow.partial``). ``users``: the tenant's users, whom the configuration may
    name beside its own ``attendants`` (a seed of users); ``companies``: the tenant's stored
    companies and branches, which it may name beside its own ``companies`` (a seed of them)."""
    from hub.workflow.partial import prune

    if not isinstance(raw, Mapping):
        raise ConfigurationError("(top level): expected a mapping of sections")
    config, pruned = prune(raw)
    problems = [*pruned.problems, *pruned.relevant(check(config, users, companies))]
    if problems:
        raise ConfigurationError(problems)
    return config


def check(
    config: WorkflowConfig, users: Collection[str] = (), companies: Companies | None = None
) -> list[str]:
    """Every semantic problem of ``config`` (empty when it is sound); ``users`` and
    ``companies`` as for ``parse_and_check``. References to companies and branches are checked
    when the configuration or the store has some."""
    people = _people(config, users)
    known = _companies(config, companies or {})
    problems: list[str] = []
    if not config.ticket_types:
        problems.append(
            "ticket_types: a configuration needs at least one ticket type; this one has none"
        )
    problems.extend(_check_classifications(config))
    problems.extend(_check_people(config, people, known))
    problems.extend(_check_places(config, known))
    for type_id, ticket_type in config.ticket_types.items():
        problems.extend(check_ticket_type(f"ticket_types[{type_id}]", ticket_type, config, people))
    problems.extend(_check_agreement_templates(config, people))
    problems.extend(check_forms(config))
    problems.extend(check_scripts(config, people))
    return problems


def _people(config: WorkflowConfig, users: Collection[str]) -> Mapping[str, Any]:
    """Whom the configuration may name: its attendants and the tenant's users."""
    return {**{u: None for u in users}, **config.attendants}


def _companies(config: WorkflowConfig, stored: Companies) -> dict[str, set[str]]:
    """The companies (with their branches) a configuration may name: the stored ones and its
    own ``companies`` section."""
    known = {c: set(branches) for c, branches in stored.items()}
    for cid, company in config.companies.items():
        known.setdefault(cid, set()).update(company.branches)
    return known


def _unknown(path: str, kind: str, value: str | None, known: Mapping[str, Any]) -> Iterator[str]:
    if value is not None and value not in known:
        yield f"{path}: unknown {kind} {value!r}"


def _check_classifications(config: WorkflowConfig) -> Iterator[str]:
    for cid, classification in config.classifications.items():
        yield from _unknown(
            f"classifications[{cid}].service", "service", classification.service, config.services
        )


def _of_other_service(
    path: str, classification: str | None, service: str, config: WorkflowConfig
) -> Iterator[str]:
    found = config.classifications.get(classification or "")
    if found is not None and found.service is not None and found.service != service:
        yield (
            f"{path}: classification {classification!r} belongs to the service "
            f"{found.service!r}, not {service!r}"
        )


def _check_people(
    config: WorkflowConfig, people: Mapping[str, Any], known: Mapping[str, set[str]]
) -> Iterator[str]:
    for aid, attendant in config.attendants.items():
        path = f"attendants[{aid}]"
        yield from _unknown(f"{path}.manager", "attendant", attendant.manager, people)
        if known:
            yield from _unknown(f"{path}.company", "company", attendant.company, known)
        yield from _unknown(f"{path}.location", "location", attendant.location, config.locations)
        seen = {aid}
        boss = attendant.manager
        while boss in config.attendants:
            if boss in seen:
                yield f"{path}.manager: the chain of managers loops back to {boss!r}"
                break
            seen.add(boss)
            boss = config.attendants[boss].manager
    for gid, group in config.service_groups.items():
        path = f"service_groups[{gid}]"
        for i, member in enumerate(group.members):
            yield from _unknown(f"{path}.members[{i}]", "attendant", member, people)
        yield from _unknown(f"{path}.manager", "attendant", group.manager, people)


def _check_places(config: WorkflowConfig, known: Mapping[str, set[str]]) -> Iterator[str]:
    for lid, location in config.locations.items():
        if known:
            yield from _unknown(f"locations[{lid}].company", "company", location.company, known)
    for did, place in config.delivery_locations.items():
        path = f"delivery_locations[{did}]"
        if known:
            yield from _unknown(f"{path}.company", "company", place.company, known)
            branches = known.get(place.company)
            if branches is not None and place.branch is not None and place.branch not in branches:
                yield f"{path}.branch: unknown branch {place.branch!r} of company {place.company!r}"
        yield from _unknown(f"{path}.location", "location", place.location, config.locations)
        if place.price is not None and place.price < 0:
            yield f"{path}.price: must not be negative"


def check_ticket_type(
    path: str,
    tt: TicketType,
    config: WorkflowConfig | None,
    people: Mapping[str, Any] | None = None,
) -> list[str]:
    """The problems of one ticket type; cross-references are checked when ``config`` is given."""
    problems: list[str] = []
    add = problems.append
    if config is not None:
        problems.extend(_unknown(f"{path}.service", "service", tt.service, config.services))
        problems.extend(_unknown(f"{path}.group", "service group", tt.group, config.service_groups))
        problems.extend(
            _unknown(
                f"{path}.classification",
                "classification",
                tt.classification,
                config.classifications,
            )
        )
        problems.extend(
            _of_other_service(f"{path}.classification", tt.classification, tt.service, config)
        )
        problems.extend(
            _unknown(
                f"{path}.delivery_location",
                "delivery location",
                tt.delivery_location,
                config.delivery_locations,
            )
        )
    if tt.valid_from and tt.valid_until and tt.valid_from > tt.valid_until:
        add(f"{path}.valid_until: before valid_from ({tt.valid_from})")
    problems.extend(_check_parameters(path, tt))
    if not tt.stages:
        add(f"{path}.stages: a ticket type needs stages")
        return problems
    defaults = [s for s, st in tt.stages.items() if st.default]
    if not defaults:
        add(
            f"{path}.stages: no first stage (flag one stage `default`, `first` and `activate_task`)"
        )
    elif len(defaults) > 1:
        add(
            f"{path}.stages: {len(defaults)} default stages ({', '.join(defaults)}); exactly one opens tickets"
        )
    for sid in defaults:
        stage = tt.stages[sid]
        if not (stage.first and stage.activate_task):
            add(
                f"{path}.stages[{sid}]: the default stage must also be flagged `first` and `activate_task`"
            )
    if not any(st.concludes for st in tt.stages.values()):
        add(f"{path}.stages: no stage concludes the ticket (flag one `concludes`)")
    purposes = {st.purpose for st in tt.stages.values()}
    if tt.approval and not {"approval", "rejection"} <= purposes:
        missing = sorted({"approval", "rejection"} - purposes)
        add(
            f"{path}.stages: an approval type needs an approval and a rejection stage (missing: {', '.join(missing)})"
        )
    for sid, stage in tt.stages.items():
        problems.extend(_check_stage(f"{path}.stages[{sid}]", sid, stage, tt, config, people))
    seen: set[tuple[str, str]] = set()
    for i, flow in enumerate(tt.flows):
        fpath = f"{path}.flows[{i}]"
        if flow.from_ not in tt.stages:
            add(f"{fpath}.from: unknown stage {flow.from_!r}")
        elif tt.stages[flow.from_].concludes:
            add(f"{fpath}.from: stage {flow.from_!r} concludes the ticket; nothing can follow it")
        if flow.to not in tt.stages:
            add(f"{fpath}.to: unknown stage {flow.to!r}")
        if flow.from_ == flow.to:
            add(f"{fpath}: a flow from a stage to itself")
        if (flow.from_, flow.to) in seen:
            add(f"{fpath}: duplicate flow {flow.from_} -> {flow.to}")
        seen.add((flow.from_, flow.to))
        if flow.reasons is not None and not flow.reasons:
            add(f"{fpath}.reasons: an empty list (omit it, or list the allowed reasons)")
    problems.extend(_check_billing(path, tt))
    return problems


def _check_parameters(path: str, tt: TicketType) -> Iterator[str]:
    for name, param in tt.parameters.items():
        ppath = f"{path}.parameters[{name}]"
        if param.options is not None and param.options_source is not None:
            yield f"{ppath}: give options or options_source, not both"
        if param.type == "choice" and param.options is None and param.options_source is None:
            yield f"{ppath}: a choice needs options or an options_source"
        if param.options_source is not None and param.options_source not in OPTION_SOURCES:
            yield (
                f"{ppath}.options_source: unknown source {param.options_source!r} "
                f"(known: {', '.join(sorted(OPTION_SOURCES))})"
            )


def _check_stage(
    path: str,
    sid: str,
    stage: Stage,
    tt: TicketType,
    config: WorkflowConfig | None,
    people: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    rule = stage.assignment
    if rule is None:
        yield f"{path}.assignment: missing (who holds the ticket here: attendant, group or customer)"
    elif rule.kind == "customer" and rule.id is not None:
        yield f"{path}.assignment.id: the customer is the ticket's own; give no id"
    elif rule.kind != "customer" and rule.id is None:
        yield f"{path}.assignment.id: name the {rule.kind}"
    elif config is not None and rule.kind == "attendant":
        known = people if people is not None else config.attendants
        yield from _unknown(f"{path}.assignment.id", "attendant", rule.id, known)
    elif config is not None and rule.kind == "group":
        yield from _unknown(
            f"{path}.assignment.id", "service group", rule.id, config.service_groups
        )
    for field, _rule in stage.fields.items():
        if field not in tt.parameters:
            yield f"{path}.fields[{field}]: unknown parameter {field!r}"
    if stage.purpose == "rejection":
        if stage.required_reason() is None:
            yield f"{path}.actions: a rejection stage needs a mandatory `require_reason` action"
        for i, action in enumerate(stage.actions):
            if not action.mandatory:
                yield f"{path}.actions[{i}].mandatory: a rejection stage's actions are mandatory"
    for i, action in enumerate(stage.actions):
        apath = f"{path}.actions[{i}]"
        if isinstance(action, EmitAction):
            yield from _check_emit(apath, action, tt)
        elif isinstance(action, SetFieldAction):
            if action.field not in tt.parameters:
                yield f"{apath}.field: unknown parameter {action.field!r}"
            for p in placeholders(action.value):
                if problem := path_problem(p, tt.parameters):
                    yield f"{apath}.value: {problem}"
        elif isinstance(action, RequireReasonAction) and action.reasons == []:
            yield f"{apath}.reasons: an empty list (omit it, or list the allowed reasons)"
    if stage.on_overdue is not None:
        if stage.expected_duration is None:
            yield f"{path}.on_overdue: needs an expected_duration"
        over = stage.on_overdue
        if over.action == "move":
            if over.stage is None:
                yield f"{path}.on_overdue.stage: `move` needs a target stage"
            elif over.stage not in tt.stages:
                yield f"{path}.on_overdue.stage: unknown stage {over.stage!r}"
            elif tt.flow(sid, over.stage) is None:
                yield f"{path}.on_overdue.stage: no flow from {sid!r} to {over.stage!r}"
    if stage.expected_duration is not None and stage.expected_duration.total_seconds() <= 0:
        yield f"{path}.expected_duration: must be positive"


def _check_emit(path: str, action: EmitAction, tt: TicketType) -> Iterator[str]:
    model = EVENT_DATA.get(action.event)
    if model is None:
        yield f"{path}.event: unknown event type {action.event!r}"
    else:
        for name, field in model.model_fields.items():
            if field.is_required() and name not in action.data:
                yield f"{path}.data.{name}: required by {action.event}"
    for p in placeholders(action.subject):
        if problem := path_problem(p, tt.parameters or None):
            yield f"{path}.subject: {problem}"
    for key, value in action.data.items():
        for p in placeholders(value):
            if problem := path_problem(p, tt.parameters or None):
                yield f"{path}.data.{key}: {problem}"


def _check_billing(path: str, tt: TicketType) -> Iterator[str]:
    billing = tt.billing
    if billing is None:
        return
    bpath = f"{path}.billing"
    if billing.charged:
        if billing.amount_from is None:
            yield f"{bpath}.amount_from: a charged type needs service_value or delivery_location_price"
        if billing.due_date is None:
            yield f"{bpath}.due_date: a charged type needs a due-date rule"
    if billing.amount_from == "service_value" and billing.service_value is None:
        yield f"{bpath}.service_value: needed when the amount comes from the service value"
    if billing.amount_from == "delivery_location_price" and tt.delivery_location is None:
        yield f"{bpath}.amount_from: the type has no delivery_location to take the price from"
    if billing.due_date is not None:
        rule = billing.due_date
        chosen = [
            rule.contract_fixed_day,
            rule.days_after_request is not None,
            rule.period_table is not None,
        ]
        if sum(chosen) != 1:
            yield (
                f"{bpath}.due_date: give exactly one of contract_fixed_day, "
                "days_after_request, period_table"
            )
    if billing.charge_at != "opening" and billing.charge_at not in tt.stages:
        yield f"{bpath}.charge_at: unknown stage {billing.charge_at!r} (or `opening`)"
    if billing.on_charge_failed is not None and billing.on_charge_failed not in tt.stages:
        yield f"{bpath}.on_charge_failed: unknown stage {billing.on_charge_failed!r}"


def _check_agreement_templates(config: WorkflowConfig, people: Mapping[str, Any]) -> Iterator[str]:
    for name, tpl in config.agreement_templates.items():
        path = f"agreement_templates[{name}]"
        if tpl.ticket_type not in config.ticket_types:
            yield f"{path}.ticket_type: unknown ticket type {tpl.ticket_type!r}"
            continue
        tt = config.ticket_types[tpl.ticket_type]
        if not tt.approval:
            yield f"{path}.ticket_type: {tpl.ticket_type!r} is not an approval type (`approval: true`)"
        yield from _unknown(f"{path}.group", "service group", tpl.group, config.service_groups)
        if tpl.group is not None and tpl.group != tt.group and tpl.group in config.service_groups:
            yield f"{path}.group: {tpl.ticket_type!r} belongs to group {tt.group!r}"
        yield from _unknown(
            f"{path}.classification", "classification", tpl.classification, config.classifications
        )
        yield from _of_other_service(
            f"{path}.classification", tpl.classification, tt.service, config
        )
        yield from _unknown(f"{path}.attendant", "attendant", tpl.attendant, people)
        if tpl.first_stage is not None:
            if tpl.first_stage not in tt.stages:
                yield f"{path}.first_stage: unknown stage {tpl.first_stage!r}"
            elif not tt.stages[tpl.first_stage].first:
                yield f"{path}.first_stage: {tpl.first_stage!r} is not flagged `first`"
        for sid, stage in tt.stages.items():
            if stage.purpose == "approval" and not stage.emits("finance.agreement.approved"):
                yield f"{path}: approval stage {sid!r} must emit finance.agreement.approved"
            if stage.purpose == "rejection" and not stage.emits("finance.agreement.rejected"):
                yield f"{path}: rejection stage {sid!r} must emit finance.agreement.rejected"
        deadline = tpl.approval_deadline
        if deadline is None:
            continue
        if deadline.on_overdue == "escalate":
            holder = config.attendants.get(tpl.attendant or "")
            if holder is not None and holder.manager is None:
                yield f"{path}.approval_deadline: attendant {tpl.attendant!r} has no manager to escalate to"
        else:
            start = tpl.first_stage or (
                tt.default_stage if any(s.default for s in tt.stages.values()) else None
            )
            if start is not None and not any(
                f.from_ == start and f.to in tt.stages and tt.stages[f.to].purpose == "rejection"
                for f in tt.flows
            ):
                yield f"{path}.approval_deadline: no flow from {start!r} to a rejection stage"
