"""Redis keys (storage role) of the site statistics, before the roll-up writes them to SQL.

| key | type | content | kept |
|---|---|---|---|
| ``stats:h:{hour}`` | hash | metric name -> count of that hour | ``HOUR_TTL`` |
| ``stats:h:{hour}:kw`` | hash | keyword -> searches of that hour | ``HOUR_TTL`` |
| ``stats:h:{hour}:kwu`` | hash | keyword -> distinct searchers of that hour | ``HOUR_TTL`` |
| ``stats:h:{hour}:kws`` | hash | ``keyword\\x1fsearcher`` -> 1 (who was counted) | ``DAY_TTL`` |
| ``stats:d:{day}:{kind}`` | set | ids seen that day (active viewers, IPs, searchers) | ``DAY_TTL`` |
| ``stats:kw:{keyword}`` | HyperLogLog | all-time searchers of a keyword | forever |
| ``stats:searchers`` | HyperLogLog | all-time searchers | forever |
| ``stats:read_sources`` | hash | ``{source}:{bucket}`` -> all-time reads | forever |

``{hour}`` is ``YYYYMMDDHH`` and ``{day}`` ``YYYYMMDD`` in server local time, the clock the
statistics tables use. The hour hashes are kept long enough for ``toutiao stats rollup`` to
rebuild any recent range; distinct counts are exact per day and per hour, and approximate
(HyperLogLog, about 1 %) all-time, as mis.md §5.2 allows.
"""

from __future__ import annotations

from datetime import datetime

HOUR_TTL = 400 * 86400
DAY_TTL = 3 * 86400
SEARCHERS = "stats:searchers"
READ_SOURCES = "stats:read_sources"
SEP = "\x1f"


def hour_id(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H")


def day_id(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def hour(hour_key: str) -> str:
    return f"stats:h:{hour_key}"


def hour_keywords(hour_key: str) -> str:
    return f"stats:h:{hour_key}:kw"


def hour_keyword_users(hour_key: str) -> str:
    return f"stats:h:{hour_key}:kwu"


def hour_keyword_seen(hour_key: str) -> str:
    return f"stats:h:{hour_key}:kws"


def day_seen(day_key: str, kind: str) -> str:
    return f"stats:d:{day_key}:{kind}"


def keyword_users(keyword: str) -> str:
    return f"stats:kw:{keyword}"
