"""Hand out fetched records round-robin over partitions, so no stage waits behind another's backlog.

aiokafka's `Fetcher.fetched_records` drains its buffers in the order they were filled: with Faust's
32-record polls, a partition holding a big fetch (up to `consumer_max_fetch_size`, ~800 articles) fills
poll after poll until it is empty, and every other partition of the worker waits. One consumer serves
all of a worker's stages, so a replayed backlog on `raw` kept the few `unique` records NER needed next
behind it: the NER child of a worker idled for the first ~1.8 s of a bench run while the language stage
went through 800 raw records. Moving the partition just served to the back of the queue gives every
partition with records a turn each round. Order within a partition is unchanged.
"""

from __future__ import annotations

import aiokafka.consumer.consumer
from aiokafka.consumer.fetcher import Fetcher


class RoundRobinFetcher(Fetcher):
    async def fetched_records(self, partitions, timeout=0, max_records=None):
        drained = await super().fetched_records(partitions, timeout=timeout, max_records=max_records)
        for tp in drained:
            if tp in self._records:   # records left over: next turn after the other partitions
                self._records.move_to_end(tp)
        return drained


def install_fair_fetch() -> None:
    """aiokafka's consumer builds its fetcher by this module-level name in AIOKafkaConsumer.start()."""
    aiokafka.consumer.consumer.Fetcher = RoundRobinFetcher
