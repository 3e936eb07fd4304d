"""The rooms bench's scenario, run by `bench/rooms.py` (whose docstring lists
the lines printed), how time is simulated, and what each key means.

The evening: `--events` events (default 100) of 20 people (10 M, 10 F,
users_limit 20, ready_check off, the default timings: confirmation closes
1 h before the start, round 1 at start + 2 min, rounds of 5 min with 1 min
breaks), so each plan is 10 rounds of 10 dates: 10,000 dates, each needing
a fresh room by its round's start. The events start evenly between 19:00
and 20:00 UTC of the simulated day (tomorrow's date): their plans are fixed
between 18:00 and 19:00 and the last round of the last one starts at about
20:56. Everything is set up through the application before the simulated
clock starts (round_clock_parts.app_setup: scheduled, registered,
confirmation opened, everyone confirmed).

The cases, each on a fresh database and a fresh fake Meet server:
  today  DATEMAKER_MEET_POOL_HORIZON=0 (no pool filling: rooms are made once
         a plan is fixed), 1 account, from 17:55 (nothing happens earlier).
  pool   the pool (horizon 24 h, margin 100: target 10,100), 1 account,
         from 00:00 (`--pool-start`): it fills all day, ~10 a minute.
  pool3  the pool with 3 accounts (tokens host1..host3), from 12:00
         (`--pool3-start`): three times the rate, so a later start.
Each runs until the last round of every event has started and nothing is
overdue.

What runs is datemaker's own code, wired as `datemaker serve` wires it:
DATEMAKER_MEET_BACKEND=google against `tests/support/fake_meet_process.py`
(its own process, enforcing Google's quotas: 10 creates a minute per
account, 100 per project, over a sliding minute of its clock), MEET_TOKEN_FILE
naming one token file per account, `build_room_pool`/`build_rooms` (paces
shared through PostgreSQL), the RoundClock with its worker lanes (Work.TAKE
takes rooms from the pool when a plan is fixed, Work.RESERVE makes the
shortfall on the spot) and the PoolFiller on a thread of its own, waiting
while rooms are taken or made for a plan (busy=clock.room_work_waiting).

Simulated time: both sides use one clock, `ScaledClock(start, anchor,
scale)`, start + (now - anchor) x scale, the fake server from the same three
numbers. The app's clock is that clock; Meet's waits (pace slots, backoff)
sleep seconds/scale; the filler's wait is halt.wait(seconds/scale); the
round clock looks at its deadlines every `--tick` real seconds (0.01).

Compressing time multiplies every real-time cost by the scale, and what a
room costs in real time (an HTTP call, a few commits, an event loaded and
saved) becomes simulated seconds in which no room is made. So:
  - each case has its own default scale: today 60x (its rooms are made in
    jobs of at most 10 simulated seconds, two rooms each, with ~50 ms of
    real time between jobs, a slot lost whenever that exceeds the 6 s to
    the next one: at 120x it made ~1,320 rooms, at 60x ~1,530),
    pool 240x (the filler claims each slot ~2 ms of real time after it
    frees, ~0.5 simulated seconds: it fills at ~8.3 a minute), pool3 120x
    (a slot every 2 simulated seconds: at 240x the one filler thread kept
    up with ~20 a minute of the 30, at 120x ~24; at 240x 958 dates went
    without a room). `--scale` sets one scale for every case;
  - two of the service's periodic chores keep to real time rather than
    simulated time, as their cost is CPU time: the round clock's lease on
    a deadline (DATEMAKER_CLOCK_LEASE_SECONDS, after which an event waiting
    for rooms is claimed again and its rooms taken again: 30 simulated
    seconds, here `--lease-every` 5 real seconds) and the filler's count of
    the dates ahead (room_pool.REFRESH, a simulated minute, reading every
    event of the next day: here at most every `--count-every` 5 real
    seconds). Neither decides what is measured: a plan fixed or a room
    recorded saves the event, and its next deadline is claimed at once;
  - ending the calls and reading attendance are left out
    (simulation.RoomsWithoutCalls): they have lanes of their own and no
    create quota, and at these scales their 10,000 ends and 20,000 reads
    would need more CPU than the machine has, only slowing the threads that
    make rooms.
`fill_per_minute` shows how close to the quota the filling came. The
filler's counts coming less often, it may make up to a count's worth of
rooms past the dates it last counted: pool_left above the margin (100).

Keys of a `rooms peak` line:
  dates           pairs in every round of every event's plan, as recorded
                  (the plan Started re-paired to, else GroupsFormed's)
  on_time         of those, the ones with a room at their round's start
                  (the rooms Started/RoundStarted gave, from the rooms
                  recorded before: RoomsReserved)
  no_room         the rest: the pair rests that round and the bot says so
                  (send_sit_out_message, reason no_room)
  rooms_made      creates the fake server accepted (the pool's and on the spot)
  max_creates_per_minute_account / _project
                  the most creates it accepted within any 60 s of its clock
                  (per account, the busiest; and for the project)
  rate_limited    creates it answered 429 (retried by datemaker with backoff).
                  Today's jobs wait for each slot, so their creates are exactly
                  6 s apart and the 11th comes exactly a minute after the
                  1st: the fake's sliding minute refuses it whenever it
                  arrives a little earlier after its slot than the 1st did
                  (~6% of creates at 60x; a third as many with
                  DATEMAKER_MEET_CREATE_PER_MINUTE=9.9). The filler takes a
                  slot once it is free, so its creates drift apart: ~none.
  sim_hours, elapsed_s
                  simulated hours run, and the real seconds they took
  scale, sim_start
                  the case's scale, and the simulated time the clock started
                  at (a minute or two after the nominal start: the server and
                  the application start meanwhile)
  pool_at_first_plan, fill_per_minute
                  rooms in the pool when the first plan was due (18:00), and
                  that over the simulated minutes since the start
  pool_left       rooms still in the pool at the end
  roomless_events events with at least one date without a room
  bot_agrees      the bot messages the log calls for (computed as the outbox
                  relay does) say the same: two invitations per date with a
                  room, two no_room sit-out messages per date without
  correct         every planned round started, and bot_agrees
"""
