"""The feed poller on a broker: polls its share of the feeds when they are due, sends new items to the raw
topic and failures to the dead-letter topic, and only once the broker acknowledged them writes the feed's
state (validators, next poll, seen items) to the compacted feed-state topic. A crash between the two re-sends
at most that poll's records, with the same ids (the dedup stage recognises a re-delivered id)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from pipeline.config import Settings
from pipeline.contracts import codec
from pipeline.contracts.deadletter import error_headers
from pipeline.feeds.config import FeedSettings
from pipeline.feeds.fetch import Fetcher
from pipeline.feeds.parse import FeedError
from pipeline.feeds.poll import PollResult, poll_feed
from pipeline.feeds.politeness import HostGate, RobotsCache
from pipeline.feeds.state import FeedState
from pipeline.kafka import feed_state
from pipeline.runtime import feed_metrics

log = logging.getLogger("newsfeed.feeds")


@dataclass
class Summary:
    polled: dict[str, int] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)          # ids of the raw records sent
    letters: int = 0
    pages: int = 0
    fallbacks: int = 0
    deferred: int = 0
    not_due: int = 0
    errors: list[str] = field(default_factory=list)
    interrupted: int = 0     # polls abandoned by a shutdown (their feeds keep their old state)

    def add(self, result: PollResult) -> None:
        """Count an acknowledged poll; an abandoned or unsent one counts only as such (nothing of it was sent)."""
        if result.outcome == "cancelled":
            self.interrupted += 1
            return
        self.polled[result.outcome] = self.polled.get(result.outcome, 0) + 1
        self.sent += [r["id"] for r in result.records]
        self.letters += len(result.letters)
        self.pages += result.pages_fetched
        self.fallbacks += len(result.fallbacks)
        self.deferred += result.deferred
        self.errors += [f"{kind}: {message}" for kind, message in result.errors]


class FeedPoller:
    def __init__(self, feeds: list[str], bootstrap: str, settings: Settings, feed_settings: FeedSettings,
                 homes: dict[str, str] | None = None):
        self.settings, self.fs, self.bootstrap = settings, feed_settings, bootstrap
        self.all_feeds = feeds
        self.homes = homes or {}   # feed URL -> the home its feed list declares (pipeline/feeds/sources.py)
        self.states: dict[str, FeedState] = {}
        self.partitions = 0
        self.gate = HostGate(feed_settings.per_host, feed_settings.host_interval)
        self.fetcher = Fetcher(feed_settings.user_agent, feed_settings.timeout, feed_settings.max_redirects, self.gate,
                               feed_settings.egress_policy())
        self.robots = RobotsCache(self.fetcher.get_plain, feed_settings.user_agent)
        self.feed_pool = ThreadPoolExecutor(feed_settings.concurrency, thread_name_prefix="feed")
        # pages in their own pool: a feed's poll waits on its pages, so the two must not share workers
        self.page_pool = ThreadPoolExecutor(feed_settings.concurrency, thread_name_prefix="page")
        self.producer = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Read the state of the partitions this poller owns; only their feeds are polled here."""
        from pipeline.kafka.replay import producer

        self.partitions = feed_state.state_partitions(self.bootstrap, self.settings)
        owned = feed_state.owned_partitions(self.partitions, self.fs.shard)
        stored = feed_state.load_states(self.bootstrap, self.settings, owned)
        mine = [f for f in self.all_feeds if feed_state.partition_of(f, self.partitions) in owned]
        self.states = {f: stored.get(f) or FeedState(feed=f) for f in mine}
        feed_metrics.FEEDS_OWNED.set(len(mine))
        log.info("newsfeed feeds: %d of %d feeds are this poller's (state partitions %s of %d, shard %d/%d); "
                 "%d with stored state", len(mine), len(self.all_feeds), owned, self.partitions, *self.fs.shard,
                 sum(f in stored for f in mine))
        self.producer = producer(self.bootstrap, self.settings)

    def close(self) -> None:
        self.feed_pool.shutdown(wait=True, cancel_futures=True)
        self.page_pool.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()
        if self.producer is not None:
            self.producer.close()

    def due(self, now: float, slack: float = 0.0) -> list[FeedState]:
        return [s for s in self.states.values() if s.due_at(self.fs.interval, slack) <= now]

    def next_due(self) -> float:
        return min((s.due_at(self.fs.interval) for s in self.states.values()), default=time.time() + self.fs.interval)

    def poll_once(self, now: float | None = None, summary: Summary | None = None, slack: float = 0.0) -> Summary:
        """Poll every feed that is due (or due within `slack` seconds: a one-shot run from cron), concurrently;
        return when each poll's output is acknowledged."""
        summary = summary or Summary()
        now = time.time() if now is None else now
        due = self.due(now, slack)
        summary.not_due += len(self.states) - len(due)
        futures = {self.feed_pool.submit(poll_feed, s, self.fetcher, self.robots, self.fs, self.page_pool, now): s
                   for s in due}
        for future in as_completed(futures):
            result = future.result()   # poll_feed never raises: a feed's failure is its own outcome
            if self._commit(result):
                summary.add(result)
            else:   # nothing of it acknowledged: counted as a produce error, none of its records as sent
                summary.polled["failed"] = summary.polled.get("failed", 0) + 1
                summary.errors += [f"{kind}: {message}" for kind, message in result.errors]
        return summary

    def cancel(self) -> None:
        """Shutting down: requests in flight are abandoned, polls not finished keep their feeds' old state."""
        self.fetcher.cancel()

    def _commit(self, result: PollResult) -> bool:
        if result.outcome == "cancelled":
            log.info("newsfeed feeds: %s: poll abandoned (shutting down); it is done again next time", result.state.feed)
            return True
        for kind, message in result.errors:
            log.warning("newsfeed feeds: %s: %s", kind, message)
        try:
            self._send(result)
        except Exception as exc:  # nothing acknowledged: keep the old state, so the next poll does it again
            log.error("newsfeed feeds: could not send %s's poll (%s: %s); it will be polled again",
                      result.state.feed, type(exc).__name__, exc)
            result.errors.append(("produce", f"{type(exc).__name__}: {exc}"))
            feed_metrics.ERRORS.labels("produce").inc()
            return False
        self.states[result.state.feed] = result.state
        feed_metrics.record(result)
        log.info("newsfeed feeds: %s %s: %d new, %d dead letters, %d deferred, next poll in %.0fs",
                 result.state.url, result.outcome, len(result.records), len(result.letters), result.deferred,
                 max(0.0, result.state.next_poll_at - time.time()))
        return True

    def _send(self, result: PollResult) -> None:
        home = self.homes.get(result.state.feed)
        for record in result.records if home else ():
            record["source_home"] = home
        with self._lock:  # one feed's records, letters and state are acknowledged together
            futures = [self.producer.send(self.settings.topic("raw"), key=r["id"].encode(), value=codec.encode(r))
                       for r in result.records]
            for letter in result.letters:
                exc = FeedError(letter["error"]["kind"], letter["error"]["message"])
                futures.append(self.producer.send(
                    self.settings.topic("deadletter"), key=(letter["source"]["key"] or "").encode(),
                    value=codec.encode(letter), headers=error_headers(letter, exc)))
            self.producer.flush()
            for future in futures:
                future.get(timeout=30)
            state = result.state
            self.producer.send(self.settings.topic(feed_state.TOPIC), key=state.feed.encode(),
                               value=feed_state.encode_state(state),
                               partition=feed_state.partition_of(state.feed, self.partitions)).get(timeout=30)

    def run(self, stop: threading.Event) -> None:
        """Poll due feeds until `stop` is set; sleeps until the next feed is due (waking each second)."""
        while not stop.is_set():
            self.poll_once()
            stop.wait(max(0.2, min(1.0, self.next_due() - time.time())))
