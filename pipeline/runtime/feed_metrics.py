"""The feed poller's Prometheus metrics (served on /metrics by `pipeline.runtime.http.serve_in_thread`).

Every label value the poller can produce is bound at import, so each series is exported at 0 from the
start: a rate() over a series that appears only with its first error misses that error.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

POLL_OUTCOMES = ("fetched", "not_modified", "failed", "robots_disallowed")
ERROR_KINDS = tuple(f"{where}_{kind}" for where in ("feed", "page") for kind in (
    "timeout", "connection", "too_large", "redirect_loop", "gone", "rate_limited", "http_error", "robots",
    "refused", "cancelled")) + (
    "feed_unparseable", "feed_encoding", "feed_not_well_formed", "feed_error", "feed_moved_offsite", "page_empty",
    "page_encoding", "page_retries_exhausted", "item_error", "item_truncated", "item_too_large", "item_duplicate",
    "item_duplicate_guid", "items_over_cap", "item_field_truncated", "item_link_rejected", "item_malformed", "produce")
FALLBACK_REASONS = ("too_little_text", "unreadable_page", "no_link", "pages_off", "page_robots", "page_too_large",
                    "page_redirect_loop", "page_gone", "page_http_error", "page_refused", "page_retries_exhausted")

FEEDS_POLLED = Counter("newsfeed_feeds_polled", "Feed polls, by outcome", ["outcome"])
NOT_MODIFIED = Counter("newsfeed_feeds_not_modified", "Feed polls answered 304 Not Modified (no parse)")
ITEMS_NEW = Counter("newsfeed_feed_items_new", "New items sent to the raw topic")
ITEMS_DEFERRED = Counter("newsfeed_feed_items_deferred", "New items left for the next poll (page timed out, "
                         "rate limited, server error)")
PAGES_FETCHED = Counter("newsfeed_feed_pages_fetched", "Article pages fetched")
FALLBACKS = Counter("newsfeed_feed_extraction_fallbacks", "Items whose text came from the feed, not the page, "
                    "by reason", ["reason"])
ERRORS = Counter("newsfeed_feed_errors", "Errors and skips, by kind (each also logged)", ["kind"])
DEAD_LETTERS = Counter("newsfeed_feed_dead_letters", "Dead letters the poller sent, by kind", ["kind"])
FEEDS_OWNED = Gauge("newsfeed_feeds_owned", "Feeds this poller polls (its shard of the sources)")

for _outcome in POLL_OUTCOMES:
    FEEDS_POLLED.labels(_outcome)
for _kind in ERROR_KINDS:
    ERRORS.labels(_kind)
    DEAD_LETTERS.labels(_kind)
for _reason in FALLBACK_REASONS:
    FALLBACKS.labels(_reason)


def record(result) -> None:
    """Count one acknowledged poll (a pipeline.feeds.poll.PollResult)."""
    FEEDS_POLLED.labels(result.outcome).inc()
    if result.outcome == "not_modified":
        NOT_MODIFIED.inc()
    ITEMS_NEW.inc(len(result.records))
    ITEMS_DEFERRED.inc(result.deferred)
    PAGES_FETCHED.inc(result.pages_fetched)
    for reason in result.fallbacks:
        FALLBACKS.labels(reason).inc()
    for kind, _message in result.errors:
        ERRORS.labels(kind).inc()
    for letter in result.letters:
        DEAD_LETTERS.labels(letter["error"]["kind"]).inc()
