"""A minimal Faust app for test_rebalance_e2e, made by `make_app` (so with newsfeed's consumer). One agent writes
`partition offset` for each record it finished to SEEK_TEST_LOG. A record whose value is b"rebalance" makes it
do what Faust does when a rebalance hands the partitions back to the same worker: suspend the streams, clear
their buffers (records fetched but not processed are dropped, to be read again), seek to the committed
offsets, resume. The consumer's own flow stays on, as it is when a rebalance's recovery resumes it while the
next rebalance has begun: the batch it was delivering when the streams stopped, fetched before the seek, is
delivered after it (faust-streaming #221).

    python tests/seek_app.py      # with NEWSFEED_BROKER, NEWSFEED_TOPIC_PREFIX, NEWSFEED_APP_ID, SEEK_TEST_LOG
"""

from __future__ import annotations

import asyncio
import os
import sys

from pipeline.config import load
from pipeline.runtime.faust_app import make_app

settings = load()
app = make_app(settings)
topic = app.topic(settings.topic("seek"), key_type=bytes, value_type=bytes)


async def hand_back() -> None:
    app.flow_control.suspend()
    app.flow_control.clear()
    await asyncio.sleep(0.3)   # the consumer meanwhile fetched its next batch and waits to deliver it
    await app.consumer.perform_seek()
    app.flow_control.resume()


@app.agent(topic)
async def record(stream):
    handed_back = set()
    with open(os.environ["SEEK_TEST_LOG"], "a") as done:
        async for event in stream.events():
            if event.value == b"rebalance" and event.message.offset not in handed_back:   # once: read again
                handed_back.add(event.message.offset)
                await hand_back()
            await asyncio.sleep(0.002)   # a little slower than the producer: a backlog waits in the buffer
            done.write(f"{event.message.partition} {event.message.offset}\n")
            done.flush()


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()
