"""Rounds as edge colourings: people are vertices, possible dates are edges,
and one colour is one round, so no one ever has two dates in the same round.

- Two-sided graphs (e.g. men and women): as many rounds as the busiest person
  has dates, which is the least possible (König's theorem). An edge whose
  colours clash is fitted in by swapping the two colours along the chain of
  dates that blocks it; on a two-sided graph that chain never comes back.
- A graph where someone may meet everyone: the round-robin circle, which
  is optimal there (n - 1 rounds, n when n is odd).
- Any other graph: at most one round more than the busiest person's dates
  (Vizing's bound), built by rotating a fan of dates around a person, the
  Misra-Gries way; then we try to empty one colour to save that round.

Vertices are 0..n-1; `at[v][c]` is v's partner in colour c, or -1."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

Edge = tuple[int, int]
FREE = -1


def max_degree(n: int, edges: Sequence[Edge]) -> int:
    degree = [0] * n
    for u, v in edges:
        degree[u] += 1
        degree[v] += 1
    return max(degree, default=0)


def two_sides(n: int, edges: Sequence[Edge]) -> list[int] | None:
    """A side (0 or 1) per vertex with every edge across, or None if an odd cycle forbids it."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    side = [-1] * n
    for start in range(n):
        if side[start] != -1:
            continue
        side[start] = 0
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in neighbours[u]:
                if side[v] == -1:
                    side[v] = 1 - side[u]
                    queue.append(v)
                elif side[v] == side[u]:
                    return None
    return side


def two_sided_colouring(
    n: int, edges: Sequence[Edge], colours: int | None = None, preferred: Sequence[int] | None = None
) -> list[list[Edge]]:
    """Colour a two-sided graph with `colours` (default: max degree) colours.

    `preferred[i]` is tried first for edges[i]; a good guess saves swaps."""
    count = max_degree(n, edges) if colours is None else colours
    at = [[FREE] * count for _ in range(n)]
    for i, (u, v) in enumerate(edges):
        at_u, at_v = at[u], at[v]
        wish = preferred[i] if preferred is not None else FREE
        if wish != FREE and at_u[wish] == FREE and at_v[wish] == FREE:
            colour = wish
        else:
            colour = at_u.index(FREE)  # free at u
            if at_v[colour] != FREE:
                other = at_v.index(FREE)  # free at v
                if at_u[other] == FREE:
                    colour = other
                else:
                    # The chain from v in colours (colour, other) cannot reach u
                    # on a two-sided graph; swapping it frees `colour` at v.
                    _swap_chain(at, v, colour, other)
        at_u[colour] = v
        at_v[colour] = u
    return _classes(at, count)


def general_colouring(n: int, edges: Sequence[Edge]) -> list[list[Edge]]:
    """Colour any simple graph with at most max degree + 1 colours."""
    count = max_degree(n, edges) + 1
    at = [[FREE] * count for _ in range(n)]
    for x, y in edges:
        fan = _fan(at, x, y)
        c = at[x].index(FREE)
        d = at[fan[-1]].index(FREE)
        _swap_chain(at, x, d, c)  # now d is free at x
        end = _fan_end_free_in(at, x, fan, d)
        shifted = [at[x].index(fan[j]) for j in range(1, end + 1)]
        for j in range(1, end + 1):
            _uncolour(at, x, fan[j], shifted[j - 1])
        for j in range(end):  # each fan edge takes the colour of the next one
            at[x][shifted[j]] = fan[j]
            at[fan[j]][shifted[j]] = x
        at[x][d] = fan[end]
        at[fan[end]][d] = x
    _try_to_empty_a_colour(at, count)
    return [cls for cls in _classes(at, count) if cls]


def _try_to_empty_a_colour(at: list[list[int]], count: int) -> None:
    """Vizing's bound is not always needed (e.g. an even number of people who
    all may meet): try to move every date of the smallest colour elsewhere,
    swapping a chain of two other colours when that frees one for the date."""
    if count < 2:
        return
    target = min(range(count), key=lambda c: (sum(row[c] != FREE for row in at), c))
    for u, v in [(u, row[target]) for u, row in enumerate(at) if row[target] > u]:
        _uncolour(at, u, v, target)
        if not _recolour_without(at, u, v, target):
            at[u][target], at[v][target] = v, u  # keep it; the extra round stays
            return


def _recolour_without(at: list[list[int]], u: int, v: int, banned: int) -> bool:
    free_u = [c for c, w in enumerate(at[u]) if w == FREE and c != banned]
    free_v = [c for c, w in enumerate(at[v]) if w == FREE and c != banned]
    common = sorted(set(free_u) & set(free_v))
    if common:
        at[u][common[0]], at[v][common[0]] = v, u
        return True
    for a in free_u:
        for b in free_v:
            for near, far, colour, other in ((u, v, a, b), (v, u, b, a)):
                if near in _chain(at, far, colour, other):
                    continue  # swapping would take `colour` away from `near` as well
                _swap_chain(at, far, colour, other)
                at[u][colour], at[v][colour] = v, u
                return True
    return False


def _chain(at: list[list[int]], start: int, first: int, second: int) -> list[int]:
    """Vertices reached from `start` along edges coloured first, second, first, ..."""
    reached, w, colour = [], start, first
    while (x := at[w][colour]) != FREE:
        reached.append(x)
        w, colour = x, (second if colour == first else first)
    return reached


def round_robin(n: int, edges: Sequence[Edge]) -> list[list[Edge]]:
    """The circle method: one person stays put while the others rotate, so
    in n - 1 rounds (n when n is odd) everyone meets everyone. Only `edges`
    are kept. Optimal whenever someone may meet all the others."""
    wanted = {(min(u, v), max(u, v)) for u, v in edges}
    seats = n + n % 2  # an odd count gets a ghost; meeting it means sitting out
    turns = seats - 1
    rounds = []
    for r in range(turns):
        pairs = [(r, seats - 1)] + [((r + i) % turns, (r - i) % turns) for i in range(1, seats // 2)]
        rounds.append(sorted(p for p in ((min(a, b), max(a, b)) for a, b in pairs) if p in wanted))
    return rounds


def _fan(at: list[list[int]], x: int, y: int) -> list[int]:
    """y, then neighbours z of x whose date colour is free at the previous fan member."""
    fan, seen = [y], {y}
    grew = True
    while grew:
        grew = False
        last = at[fan[-1]]
        for colour, z in enumerate(at[x]):
            if z != FREE and z not in seen and last[colour] == FREE:
                fan.append(z)
                seen.add(z)
                grew = True
                break
    return fan


def _fan_end_free_in(at: list[list[int]], x: int, fan: list[int], d: int) -> int:
    """Index of the first fan member with d free, while the prefix is still a fan."""
    for i, w in enumerate(fan):
        if i > 0 and at[fan[i - 1]][at[x].index(w)] != FREE:
            break
        if at[w][d] == FREE:
            return i
    raise AssertionError("a fan always ends at a member with the colour free")


def _swap_chain(at: list[list[int]], start: int, first: int, second: int) -> None:
    """Swap colours first/second along the chain that leaves `start` in `first`."""
    chain = []
    w, colour = start, first
    while (x := at[w][colour]) != FREE:
        chain.append((w, x, colour))
        w, colour = x, (second if colour == first else first)
    for w, x, colour in chain:
        _uncolour(at, w, x, colour)
    for w, x, colour in chain:
        swapped = second if colour == first else first
        at[w][swapped] = x
        at[x][swapped] = w


def _uncolour(at: list[list[int]], u: int, v: int, colour: int) -> None:
    at[u][colour] = FREE
    at[v][colour] = FREE


def _classes(at: list[list[int]], count: int) -> list[list[Edge]]:
    return [[(u, row[c]) for u, row in enumerate(at) if row[c] > u] for c in range(count)]
