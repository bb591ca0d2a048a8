"""Properties of the frozen plan: a pure function of the set of implementations."""

from __future__ import annotations

from typing import Any

import pluggy
from api_particulier import hookimpl
from api_particulier.plan import Bucket, Phase, Step, build_plan, steps_from_manager
from api_particulier.plugins import build_manager
from hypothesis import given
from hypothesis import strategies as st


def _noop(*args: Any) -> None:
    return None


step_keys = st.tuples(
    st.sampled_from(list(Phase)),
    st.sampled_from(list(Bucket)),
    st.text(alphabet="abcdefghij_", min_size=1, max_size=8),
)


@given(
    st.lists(step_keys, unique=True, max_size=30).flatmap(
        lambda keys: st.tuples(st.just(keys), st.permutations(keys))
    )
)
def test_plan_is_invariant_under_registration_order(keys: Any) -> None:
    original, shuffled = keys

    def steps(order: list[tuple[Phase, Bucket, str]]) -> list[Step]:
        return [Step(phase, bucket, name, _noop) for phase, bucket, name in order]

    assert build_plan(steps(original)) == build_plan(steps(shuffled))


@given(st.lists(step_keys, unique=True, max_size=30))
def test_phases_never_go_backwards(keys: list[tuple[Phase, Bucket, str]]) -> None:
    plan = build_plan(Step(phase, bucket, name, _noop) for phase, bucket, name in keys)
    order = [(s.phase.value, s.bucket.value, s.plugin) for s in plan.steps]
    assert order == sorted(order)


def _plugin(bucket: str) -> object:
    """A plugin implementing check_consent in the given bucket."""

    class Policy:
        @hookimpl(tryfirst=bucket == "tryfirst", trylast=bucket == "trylast")
        def check_consent(self, call: Any) -> None:
            return None

        @hookimpl
        def record_call(self, record: Any) -> None:
            return None

    return Policy()


@given(
    st.dictionaries(
        st.text(alphabet="abcdefgh", min_size=1, max_size=6),
        st.sampled_from(["tryfirst", "normal", "trylast"]),
        min_size=1,
        max_size=8,
    ).flatmap(lambda d: st.tuples(st.just(d), st.permutations(list(d))))
)
def test_plan_from_pluggy_ignores_registration_order(spec: Any) -> None:
    buckets, order = spec

    def plan_for(names: list[str]) -> list[tuple[str, str, str]]:
        pm = pluggy.PluginManager("api_particulier")
        from api_particulier import hookspecs

        pm.add_hookspecs(hookspecs)
        for name in names:
            pm.register(_plugin(buckets[name]), name=name)
        return [
            (s.phase.name, s.bucket.name, s.plugin)
            for s in build_plan(steps_from_manager(pm)).steps
        ]

    first = plan_for(sorted(buckets))
    assert first == plan_for(order)
    consent = [(bucket, name) for phase, bucket, name in first if phase == "check_consent"]
    rank = {"tryfirst": 0, "normal": 1, "trylast": 2}
    assert consent == sorted(consent, key=lambda item: (rank[item[0]], item[1]))


def test_manager_registers_builtins_and_sorts_plugins() -> None:
    pm = build_manager({"zeta": _plugin("normal"), "alpha": _plugin("normal")})
    names = [s.plugin for s in build_plan(steps_from_manager(pm)).for_phase(Phase.check_consent)]
    assert names == ["alpha", "zeta"]
