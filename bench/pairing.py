"""Benchmark of the pairing engine: grouping + scheduling of N confirmed people.

    python bench/pairing.py [--sizes 100 1000 10000] [--repeat 3] [--forbidden 10000:50000]

A seeded, realistic population: 55 % men and 45 % women, three cities, ages
18 to 40, users_limit 20. For each N it prints one line for the engine and
one for a naive baseline (groups cut in id order, then each round greedily
takes the best-scoring unmet pairs among the people still free):

    pairing n=10000 seconds=0.41 peak_mb=38 groups=500 rounds=11 dates=49500 ...
    pairing n=10000 baseline=greedy seconds=... peak_mb=... rounds=... ...
    pairing n=10000 forbidden=50000 seconds=... peak_mb=... dates=48608 ...

`--forbidden N:K` adds a case of N people with K pairs that must never meet
(people who reported, disliked or recently met each other), given with their
reasons as the round clock gives them (normalised pairs, `KeptApartPairs`; a
plain dict of pairs to reasons measures about the same): drawn among look-alikes (same city,
close in age, opposite sex), as earlier partners are, so most of them fall
inside a group and cost the grouping and the rounds real work. Target: at
most 1 s for 10,000 people and 50,000 pairs.

`seconds` is the best of --repeat untraced runs; `peak_mb` comes from a
separate run under tracemalloc (tracing slows Python down, so the two are
measured apart). `extra_rounds` counts rounds beyond max(men, women) summed
over groups; `round1_score` is the mean score of a round-1 date."""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from datemaker.domain.pairing import KeptApartPairs, plan_event
from datemaker.domain.pairing.scoring import AGE_SPAN_YEARS, ScoreWeights
from datemaker.domain.profile import Profile

START = date(2026, 12, 1)
CITIES = ("Kazan", "Moscow", "Perm")
USERS_LIMIT = 20


@dataclass(frozen=True)
class Outcome:
    groups: int
    rounds: int
    dates: int
    extra_rounds: int
    round1_score: float


def population(n: int, seed: int = 2026) -> dict[int, Profile]:
    rnd = random.Random(seed)
    sexes = ["M"] * round(n * 0.55) + ["F"] * (n - round(n * 0.55))
    rnd.shuffle(sexes)
    ids = rnd.sample(range(1, 20 * n + 1), n)
    return {
        uid: Profile(
            sex=sex,
            birthday=START - timedelta(days=rnd.randint(18 * 365, 40 * 365)),
            city=rnd.choice(CITIES),
            rating=round(rnd.uniform(0, 5), 2),
            manual_score=rnd.choices((1, 2, 3), weights=(1, 4, 1))[0],
        )
        for uid, sex in zip(ids, sexes, strict=True)
    }


def earlier_partners(people: dict[int, Profile], count: int, seed: int = 2027) -> KeptApartPairs:
    """`count` pairs of look-alikes of opposite sex, each with a reason."""
    rnd = random.Random(seed)
    alike = sorted(people, key=lambda uid: (str(people[uid].city), people[uid].birthday, uid))
    by_sex = {sex: [uid for uid in alike if people[uid].sex == sex] for sex in ("M", "F")}
    place = {uid: i * len(by_sex["F"]) // max(1, len(by_sex["M"])) for i, uid in enumerate(by_sex["M"])}
    words = (("reported",), ("disliked",), ("met_recently",), ("disliked", "met_recently"))
    pairs: dict[tuple[int, int], tuple[str, ...]] = {}
    while len(pairs) < count:
        man = rnd.choice(by_sex["M"])
        near = min(max(place[man] + rnd.randint(-15, 15), 0), len(by_sex["F"]) - 1)
        woman = by_sex["F"][near]
        pairs[(min(man, woman), max(man, woman))] = rnd.choice(words)
    return KeptApartPairs(sorted(pairs.items()))


def engine(people: dict[int, Profile], never: KeptApartPairs | None = None) -> Outcome:
    plan = plan_event(people, USERS_LIMIT, reference_date=START, forbidden=never or {}, seed=7)
    extra = 0
    for group in plan.groups:
        sexes = [people[uid].sex for uid in group.user_ids]
        extra += len(group.rounds) - max(sexes.count("M"), sexes.count("F"))
    first = plan.pairs_in_round(1)
    return Outcome(
        groups=len(plan.groups),
        rounds=plan.rounds_count,
        dates=sum(len(r.pairs) for g in plan.groups for r in g.rounds),
        extra_rounds=extra,
        round1_score=sum(p.score for p in first) / max(1, len(first)),
    )


def greedy(people: dict[int, Profile]) -> Outcome:
    """The naive approach: no balancing, one pair at a time, O(n²) per round."""
    weights = ScoreWeights()
    ids = sorted(people)
    cities = {city: code for code, city in enumerate(sorted({p.city for p in people.values()}, key=str))}
    low = min(p.rating for p in people.values())
    spread = (max(p.rating for p in people.values()) - low) or 1.0

    def score(a: Profile, b: Profile) -> float:
        gap = abs((a.age_on(START) or 0) - (b.age_on(START) or 0))
        return (
            weights.age * max(0.0, 1 - gap / AGE_SPAN_YEARS)
            + weights.city * (cities[a.city] == cities[b.city])
            + weights.operator * (1 - abs(a.manual_score - b.manual_score) / 2)
            + weights.rating * ((a.rating - low) + (b.rating - low)) / spread / 2
        )

    groups, rounds, dates, extra, first = 0, 0, 0, 0, []
    for start in range(0, len(ids), USERS_LIMIT):
        members = ids[start : start + USERS_LIMIT]
        unmet = {
            (a, b): score(people[a], people[b])
            for i, a in enumerate(members)
            for b in members[i + 1 :]
            if people[a].sex != people[b].sex
        }
        if not unmet:
            continue
        groups += 1
        held = 0
        while unmet:
            free = set(members)
            taken = []
            for (a, b), value in sorted(unmet.items(), key=lambda item: -item[1]):
                if a in free and b in free:
                    free -= {a, b}
                    taken.append(((a, b), value))
            for pair, value in taken:
                del unmet[pair]
            if held == 0:
                first += [value for _, value in taken]
            held += 1
            dates += len(taken)
        sexes = [people[uid].sex for uid in members]
        extra += held - max(sexes.count("M"), sexes.count("F"))
        rounds = max(rounds, held)
    return Outcome(groups, rounds, dates, extra, sum(first) / max(1, len(first)))


Run = Callable[[dict[int, Profile]], Outcome]


def measure(run: Run, people: dict[int, Profile], repeat: int) -> tuple[float, float, Outcome]:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        outcome = run(people)
        best = min(best, time.perf_counter() - began)
    tracemalloc.start()
    run(people)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, outcome


def line(n: int, label: str, seconds: float, peak_mb: float, outcome: Outcome) -> str:
    return (
        f"pairing n={n}{label} seconds={seconds:.3f} peak_mb={peak_mb:.2f} groups={outcome.groups} "
        f"rounds={outcome.rounds} dates={outcome.dates} extra_rounds={outcome.extra_rounds} "
        f"round1_score={outcome.round1_score:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--forbidden", nargs="*", default=["10000:50000"], metavar="N:K")
    args = parser.parse_args()
    for n in args.sizes:
        people = population(n)
        print(line(n, "", *measure(engine, people, args.repeat)), flush=True)
        print(line(n, " baseline=greedy", *measure(greedy, people, args.repeat)), flush=True)
    for case in args.forbidden:
        n, count = (int(part) for part in case.split(":"))
        people = population(n)
        never = earlier_partners(people, count)
        run = lambda people, never=never: engine(people, never)  # noqa: E731
        print(line(n, f" forbidden={count}", *measure(run, people, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
