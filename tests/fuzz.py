"""The fuzz run outside the suite (``make fuzz``): the decoder's and the configuration loader's
checks of ``tests/support/fuzzing.py`` on many generated inputs, half valid (each must be
accepted) and half targeted mutations (each must be refused with its reason). Prints, per
target and property, the inputs run, the outcomes, the failures and the rate; exits 1 on a
failure, after printing the smallest failing input hypothesis found.

    python -m tests.fuzz --inputs 100000 [--seed N] [--only decoder|loader] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support import fuzzing


@dataclass
class Run:
    target: str
    prop: str
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failure: str | None = None
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def _run(
    target: str,
    prop: str,
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], str],
    examples: int,
    rng_seed: int,
) -> Run:
    run = Run(target, prop)

    @seed(rng_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop_test(value: Any) -> None:
        run.inputs += 1
        run.outcomes[check(value)] += 1

    started = time.perf_counter()
    try:
        prop_test()
    except Exception as e:  # hypothesis re-raises the smallest failure it found
        run.failure = f"{type(e).__name__}: {e}"
    run.seconds = time.perf_counter() - started
    return run


def _accepted_event(event: dict[str, Any]) -> str:
    fuzzing.check_accepted(event)
    return f"accepted {event['type']}"


def _refused_event(m: fuzzing.Mutation) -> str:
    fuzzing.check_refused(m)
    return f"refused: {m.name}"


def _accepted_config(raw: dict[str, Any]) -> str:
    config = fuzzing.check_config_accepted(raw)
    return f"accepted ({len(config.ticket_types)} ticket type(s))"


def _refused_config(m: fuzzing.ConfigMutation) -> str:
    fuzzing.check_config_refused(m)
    return f"refused: {m.name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000, help="per target (default 100000)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--only", choices=["decoder", "loader"])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    half = max(1, args.inputs // 2)
    plan = [
        ("decoder", "valid events accepted", fuzzing.valid_events(), _accepted_event),
        ("decoder", "mutations refused with their reason", fuzzing.mutations(), _refused_event),
        ("loader", "valid configurations accepted", fuzzing.valid_configs(), _accepted_config),
        (
            "loader",
            "mutations refused with their reason",
            fuzzing.config_mutations(),
            _refused_config,
        ),
    ]
    runs = []
    for target, prop, strategy, check in plan:
        if args.only and target != args.only:
            continue
        run = _run(target, prop, strategy, check, half, args.seed)
        runs.append(run)
        if not args.json:
            print(
                f"{target:<8} {prop:<38} {run.inputs:>8} inputs  {run.seconds:8.1f} s  "
                f"{run.rate:8.0f}/s  {'FAILED' if run.failure else 'ok'}",
                flush=True,
            )
            for outcome, n in sorted(run.outcomes.items()):
                print(f"         {n:>8}  {outcome}")
            if run.failure:
                print(run.failure)
    totals = Counter[str]()
    for run in runs:
        totals[run.target] += run.inputs
    if args.json:
        print(
            json.dumps(
                {
                    "seed": args.seed,
                    "runs": [
                        {**asdict(r), "outcomes": dict(r.outcomes), "rate": round(r.rate, 1)}
                        for r in runs
                    ],
                    "inputs_per_target": dict(totals),
                },
                indent=2,
            )
        )
    else:
        print(
            "inputs per target: "
            + ", ".join(f"{t} {n}" for t, n in totals.items())
            + f"; failures: {sum(1 for r in runs if r.failure)} (seed {args.seed})"
        )
    return 1 if any(r.failure for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
