"""MQTT 3.1.1 topic names, topic filters and matching (§4.7).

* A topic name has at least one character and no wildcard (``+``, ``#``).
* In a filter ``#`` must be the whole last level and ``+`` a whole level; ``sport/#`` also
  matches ``sport``, and ``+`` matches an empty level.
* Topics starting with ``$`` (``$iothub/...``, ``$SYS/...``) are not matched by a filter whose
  first level is a wildcard (§4.7.2): ``#`` does not see ``$iothub/twin/res/200``, but
  ``$iothub/twin/res/#`` does.

The validators return a reason (``None`` when the value is fine) so the decoder can wrap it in
its one error type and the IoT Hub layer can reuse it for its own messages.
"""

from __future__ import annotations

__all__ = ["filter_error", "matches", "topic_name_error"]


def topic_name_error(name: str) -> str | None:
    """Why ``name`` is not a valid PUBLISH topic name, or ``None``."""
    if not name:
        return "the topic name is empty"
    if "+" in name or "#" in name:
        return f"the topic name {name!r} contains a wildcard ('+' or '#'); only filters may"
    return None


def filter_error(topic_filter: str) -> str | None:
    """Why ``topic_filter`` is not a valid SUBSCRIBE/UNSUBSCRIBE topic filter, or ``None``."""
    if not topic_filter:
        return "the topic filter is empty"
    if "+" not in topic_filter and "#" not in topic_filter:
        return None
    levels = topic_filter.split("/")
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != last):
            return f"the topic filter {topic_filter!r} has '#' other than as its whole last level"
        if "+" in level and level != "+":
            return f"the topic filter {topic_filter!r} has '+' that is not a whole level"
    return None


def matches(topic_filter: str, topic: str) -> bool:
    """Whether the (valid) ``topic_filter`` selects the (valid) topic name ``topic``."""
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    if "+" not in topic_filter and "#" not in topic_filter:
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    n_t = len(t_levels)
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= n_t:
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return len(f_levels) == n_t
