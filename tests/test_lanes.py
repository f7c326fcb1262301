"""Lanes: one chat's updates in order, chats side by side, and an offset that never passes one in hand."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.adapters.lanes import TAKE, Admission, Lanes


@dataclass(frozen=True)
class Upd:
    update_id: int
    chat: int


class Recorder:
    """Handles updates; an update of a held chat waits until that chat is released."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.done: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.cursors: dict[int, int] = {}
        self.lanes: Lanes[Upd] | None = None

    def hold(self, chat: int) -> asyncio.Event:
        self.gates[chat] = asyncio.Event()
        return self.gates[chat]

    async def handle(self, update: Upd) -> bool:
        assert self.lanes is not None
        self.cursors[update.update_id] = self.lanes.cursor_for(update.update_id)
        self.started.append(update.update_id)
        gate = self.gates.get(update.chat)
        if gate is not None:
            await gate.wait()
        self.done.append(update.update_id)
        return True


def lanes_for(recorder: Recorder) -> Lanes[Upd]:
    recorder.lanes = Lanes(recorder.handle, lambda u: u.chat)
    return recorder.lanes


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_slow_chat_does_not_hold_up_the_others_and_keeps_its_own_order() -> None:
    rec = Recorder()
    lanes = lanes_for(rec)
    release = rec.hold(1)
    assert lanes.add([Upd(10, 1), Upd(11, 2), Upd(12, 1), Upd(13, 3)]) == 4
    await settle()
    assert rec.done == [11, 13]  # chats 2 and 3 went on while chat 1 waits
    assert rec.started == [10, 11, 13]  # chat 1's second update waits behind its first
    assert lanes.safe_offset(None) == 10  # Telegram must keep 10 and 12
    release.set()
    await settle()
    assert rec.done == [11, 13, 10, 12]
    assert not lanes.busy and lanes.safe_offset(None) == 14


async def test_the_cursor_stored_with_a_turn_never_passes_an_update_in_hand() -> None:
    rec = Recorder()
    lanes = lanes_for(rec)
    rec.hold(1)
    lanes.add([Upd(10, 1), Upd(11, 2)])
    await settle()
    assert rec.cursors[10] == 11  # 11 was in hand too (handled later or at the same time)
    assert rec.cursors[11] == 10  # 10 is still in hand: a crash now must not lose it
    lanes.add([Upd(12, 3)])
    await settle()
    assert rec.cursors[12] == 10


async def test_updates_seen_before_are_not_taken_twice() -> None:
    rec = Recorder()
    lanes = lanes_for(rec)
    rec.hold(1)
    lanes.add([Upd(10, 1)])
    assert lanes.add([Upd(10, 1), Upd(11, 2)]) == 1  # Telegram returns 10 again until confirmed
    await settle()
    assert rec.started == [10, 11]


async def test_closing_lets_the_update_in_hand_finish_and_takes_no_next_one() -> None:
    rec = Recorder()
    lanes = lanes_for(rec)
    release = rec.hold(1)
    lanes.add([Upd(10, 1), Upd(11, 1)])
    await settle()
    closing = asyncio.create_task(lanes.close(timeout=5))
    await settle()
    release.set()
    await closing
    assert rec.done == [10]
    assert lanes.safe_offset(None) == 11  # 11 stays with Telegram for the next start


async def test_no_update_and_no_stored_offset_asks_from_the_start() -> None:
    lanes = lanes_for(Recorder())
    assert lanes.safe_offset(None) is None
    assert lanes.safe_offset(42) == 42


async def test_an_update_whose_handling_raises_is_dropped_and_its_chat_goes_on(caplog) -> None:
    done: list[int] = []

    async def handle(update: Upd) -> bool:
        if update.update_id == 10:
            raise OSError("disk full while writing 'Dorpsstraat 7'")
        done.append(update.update_id)
        return True

    lanes: Lanes[Upd] = Lanes(handle, lambda u: u.chat)
    lanes.add([Upd(10, 1), Upd(11, 1)])
    await settle()
    assert done == [11]
    assert not lanes.busy and lanes.safe_offset(None) == 12  # the offset is not held for good
    assert "10" in caplog.text and "OSError" in caplog.text and "Dorpsstraat" not in caplog.text


async def test_closing_gives_up_on_a_lane_stuck_past_the_timeout() -> None:
    rec = Recorder()
    lanes = lanes_for(rec)
    rec.hold(1)  # never released
    lanes.add([Upd(10, 1)])
    await settle()
    await asyncio.wait_for(lanes.close(timeout=0.05), timeout=5)
    assert rec.done == [] and lanes.safe_offset(None) == 10  # still Telegram's to hand out again


# ---------------------------------------------------------------- admission on arrival


class Gatekeeper:
    """Refuses the updates it is told to; remembers how many waited in their chat on arrival."""

    def __init__(self, refuse: dict[int, Admission]) -> None:
        self.refuse = refuse
        self.waiting: dict[int, int] = {}
        self.notified: list[int] = []

    def admit(self, update: Upd, waiting: int) -> Admission:
        self.waiting[update.update_id] = waiting
        return self.refuse.get(update.update_id, TAKE)

    async def notify(self, update: Upd) -> None:
        self.notified.append(update.update_id)


async def test_a_refused_update_never_enters_a_lane_and_the_offset_moves_past_it() -> None:
    rec, gate = Recorder(), Gatekeeper({11: Admission(take=False), 12: Admission(take=False, flush=True)})
    lanes = rec.lanes = Lanes(rec.handle, lambda u: u.chat, gate.admit, gate.notify)
    assert lanes.add([Upd(10, 2), Upd(11, 1), Upd(12, 1)]) == 3  # new, refused or not
    await settle()
    assert rec.done == [10] and lanes.refused == 2
    assert not lanes.busy and lanes.safe_offset(None) == 13  # Telegram may forget 11 and 12
    assert lanes.add([Upd(11, 1), Upd(12, 1)]) == 0  # handed out again: not judged twice


async def test_a_flood_drops_what_its_chat_had_waiting_keeps_the_update_in_hand_and_tells_once() -> None:
    rec = Recorder()
    gate = Gatekeeper({13: Admission(take=False, tell=True), 15: Admission(take=False, tell=True, flush=True),
                       16: Admission(take=False, flush=True)})
    lanes = rec.lanes = Lanes(rec.handle, lambda u: u.chat, gate.admit, gate.notify)
    release = rec.hold(1)
    lanes.add([Upd(10, 1), Upd(11, 1), Upd(12, 2), Upd(13, 1), Upd(14, 1)])
    await settle()
    assert gate.waiting[13] == 1 and gate.waiting[14] == 2  # 10 in hand; 11, then the notice 13, waiting
    lanes.add([Upd(15, 1), Upd(16, 1)])
    assert lanes.safe_offset(None) == 10  # 10 is still in hand: a crash must not lose it
    release.set()
    await settle()
    assert rec.done == [12, 10], "11 and 14 waited in chat 1 when it flooded: dropped"
    assert gate.notified == [13, 15], "a notice keeps its place; a refusal after it does not drop it"
    assert not lanes.busy and lanes.safe_offset(None) == 17
    assert lanes.refused == 5  # 13, 15 and 16 on arrival (the notices too), 11 and 14 dropped from the lane
