"""An append-only log on any Store, built on put-if-absent alone.

Layout under a prefix::

    00000001.json … 0000NNNN.json   entries; sequence numbers start at 1
    HEAD.json                       a hint: {"last": N}; may lag, never ahead
    segments/000000.json            entries 1-64 in one object, 000001.json 65-128, …

Why it is safe: an entry is claimed with put-if-absent and holds its whole content,
so it is either absent or complete. A writer claims N+1 only after reading entry N,
so entries are contiguous and every writer that loses a race retries at the next
number: N concurrent appends yield N distinct entries in one order.

Why it is fast: the last entry costs three reads (HEAD, entry, one probe for a newer
one) however long the log; reading everything costs one read per 64 entries plus
the tail. HEAD and segments are derived, written only by appenders and rewritten
idempotently, so a writer killed before updating them leaves only a slower read,
never a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import CorruptObjectError
from .interfaces import Store, dump_json, load_json

SEGMENT = 64

Entry = dict[str, Any]


class Journal:
    """An append-only log under `prefix`; `summarize` (optional) makes each segment also keep
    a compact summary of its entries, so a long history can be listed without reading it all."""

    def __init__(self, store: Store, prefix: str, summarize: Callable[[Entry], Entry] | None = None) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")
        self.summarize = summarize

    def _key(self, seq: int) -> str:
        return f"{self.prefix}/{seq:08d}.json"

    def _segment_key(self, index: int) -> str:
        return f"{self.prefix}/segments/{index:06d}.json"

    def get(self, seq: int) -> Entry | None:
        if seq < 1:
            return None
        data = self.store.get(self._key(seq))
        return None if data is None else load_json(data, self._key(seq))

    def _derived(self, key: str) -> Any:
        """HEAD or a segment: derived from the entries, so a damaged one reads as missing."""
        try:
            return self.store.get_json(key)
        except CorruptObjectError:
            return None

    def hint(self) -> int:
        """A number no greater than the last entry's, in one read (HEAD may lag, never lead): an
        entry appended from now on will have a higher number."""
        head = self._derived(f"{self.prefix}/HEAD.json")
        last = head.get("last") if isinstance(head, dict) else None
        return last if type(last) is int and last >= 0 else 0

    def _listed_last(self) -> int:
        """The highest entry number by listing: the slow way, for a missing or damaged HEAD."""
        numbers = [
            int(name)
            for key in self.store.list(self.prefix)
            if (name := key.rsplit("/", 1)[-1].removesuffix(".json")).isdigit() and "/segments/" not in key
        ]
        return max(numbers, default=0)

    def last(self) -> tuple[int, Entry | None]:
        """The newest entry and its number, or (0, None) for an empty log."""
        seq = self.hint()
        entry = self.get(seq) if seq else None
        if seq and entry is None:  # a hint can only lag; a missing entry means a damaged HEAD
            seq = 0
        if seq == 0 and self.store.get(self._key(2)) is not None:  # no usable HEAD on a long log
            seq = self._listed_last()
            entry = self.get(seq)
        while True:
            newer = self.get(seq + 1)
            if newer is None:
                return seq, entry
            seq, entry = seq + 1, newer

    def append(self, make: Callable[[int, Entry | None], Entry]) -> tuple[int, Entry]:
        """Claim the next number for `make(seq, previous_entry)`; retried on a lost race.

        `make` sees the entry it will follow, so what it derives from it (the previous
        active version, say) is always true of the log as written.
        """
        seq, previous = self.last()
        while True:
            entry = make(seq + 1, previous)
            if self.store.put_if_absent(self._key(seq + 1), dump_json(entry)):
                seq += 1
                break
            seq += 1
            previous = self.get(seq)
        self.store.write_json(f"{self.prefix}/HEAD.json", {"last": seq})
        if seq % SEGMENT == 0:
            index = seq // SEGMENT - 1
            self._write_segment(index)
            if index and self.store.get(self._segment_key(index - 1)) is None:
                self._write_segment(index - 1)  # a writer was killed before writing it
        return seq, entry

    def _write_segment(self, index: int) -> list[Entry] | None:
        entries = []
        for seq in range(index * SEGMENT + 1, (index + 1) * SEGMENT + 1):
            entry = self.get(seq)
            if entry is None:
                return None
            entries.append(entry)
        self.store.write(self._segment_key(index), dump_json(entries))
        if self.summarize is not None:
            summaries = [self.summarize(e) for e in entries]
            self.store.write(self._segment_key(index).replace(".json", ".summary.json"), dump_json(summaries))
        return entries

    def all(self) -> list[Entry]:
        """Every entry, oldest first."""
        last, _ = self.last()
        entries: list[Entry] = []
        full = last // SEGMENT
        for index in range(full):
            segment = self._derived(self._segment_key(index))
            if segment is None:  # its writer was killed: read the entries one by one
                segment = [self.get(seq) for seq in range(index * SEGMENT + 1, (index + 1) * SEGMENT + 1)]
            entries.extend(segment)
        for seq in range(full * SEGMENT + 1, last + 1):
            entry = self.get(seq)
            if entry is not None:
                entries.append(entry)
        return entries

    def summaries(self) -> list[Entry]:
        """Every entry's summary, oldest first: one small read per 64 entries, plus the tail."""
        assert self.summarize is not None, "this journal keeps no summaries"
        last, _ = self.last()
        out: list[Entry] = []
        full = last // SEGMENT
        for index in range(full):
            summary = self._derived(self._segment_key(index).replace(".json", ".summary.json"))
            if summary is None:  # written before summaries existed, or its writer was killed
                segment = self._derived(self._segment_key(index))
                if segment is None:
                    segment = [self.get(seq) for seq in range(index * SEGMENT + 1, (index + 1) * SEGMENT + 1)]
                summary = [self.summarize(e) for e in segment]
            out.extend(summary)
        for seq in range(full * SEGMENT + 1, last + 1):
            entry = self.get(seq)
            if entry is not None:
                out.append(self.summarize(entry))
        return out
