"""The limits that keep one client from hurting the others, each declared once, in LIMITS.

A limit's declaration gives all there is to know about it: its default, its flag (--NAME) and
environment variable (NAME), its help, what a client over it gets, what it is told, and the
reason under which /metrics counts it. The command line, the help, the refusals and the
metrics are derived from it; relay.py enforces it. 0 turns a limit off.
"""

import dataclasses
from http import HTTPStatus

from websockets.frames import CloseCode


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str  # the attribute of Limits; the flag is --NAME, the environment variable NAME
    default: int
    unit: str  # what the value counts, in --help
    help: str
    # what a client over it gets: closed with a code, or refused with an HTTP status (None: it
    # is dropped, or another limit's answer applies); the reason it is told (with the value);
    # and its reason in signaling_refusals_total
    answer: CloseCode | HTTPStatus | None = None
    reason: str | None = None
    refusal: str | None = None
    zero: int | None = None  # what 0 gives: None is no limit

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.name.upper()

    def value(self, number: int) -> int | None:
        """The limit that a flag's or variable's number sets."""
        return number or self.zero

    def help_text(self) -> str:
        if isinstance(self.answer, HTTPStatus):
            over = f"; a client over it is refused (HTTP {self.answer.value})"
        elif isinstance(self.answer, CloseCode):
            over = f"; a client over it is closed ({self.answer.value})"
        else:
            over = ""
        zero = "no limit" if self.zero is None else self.zero
        return f"{self.help}{over} (env {self.env}; default {self.default}; 0: {zero})"

    def told(self, value: int) -> str:
        """What a client over this limit, set to value, is told."""
        return self.reason.format(value)


MAX_MESSAGE_SIZE = Limit(
    "max_message_size",
    64 * 1024,  # SDP offers, the largest signals, are under 10 KB
    "BYTES",
    "size of one message",
    CloseCode.MESSAGE_TOO_BIG,  # websockets closes it, and says why
    refusal="message_size",
)
MAX_TOPICS = Limit(
    "max_topics",
    100,  # y-webrtc subscribes to one topic per open document
    "N",
    "topics one connection may subscribe to",
    CloseCode.POLICY_VIOLATION,
    "more than {} topics",
    "topics",
)
MAX_TOPICS_PER_MESSAGE = Limit(
    "max_topics_per_message",
    100,
    "N",
    "topics in one (un)subscribe message",
    CloseCode.POLICY_VIOLATION,
    "more than {} topics in a message",
    "topics_per_message",
)
MAX_TOPIC_LENGTH = Limit(
    "max_topic_length",
    1024,  # a topic: a 64-character room hash (after `jupyterlab-4:` on 4 sites), a path
    "CHARS",
    "length of a topic name",
    CloseCode.POLICY_VIOLATION,
    "a topic name longer than {} characters",
    "topic_length",
)
# A browser joining a room of 30 sends an answer and a few ICE candidates to each peer within
# a second or two: bursts of a few hundred messages.
MESSAGES_PER_SECOND = Limit(
    "messages_per_second",
    100,
    "N",
    "messages a connection may send a second, on average",
    CloseCode.POLICY_VIOLATION,
    "more than {} messages a second",
    "message_rate",
)
MESSAGE_BURST = Limit(
    "message_burst",
    1000,
    "N",
    "messages a connection may send at once, above the average (--messages-per-second)",
    zero=1,
)
MAX_CONNECTIONS_PER_IP = Limit(
    "max_connections_per_ip",
    100,  # one classroom behind one NAT address fits
    "N",
    "open connections from one address",
    HTTPStatus.TOO_MANY_REQUESTS,
    "too many connections from your address",
    "connections_per_ip",
)
MAX_CONNECTIONS = Limit(
    "max_connections",
    10_000,
    "N",
    "open connections in all, also kept under the limit of open files",
    HTTPStatus.SERVICE_UNAVAILABLE,
    "server full",
    "connections",
)
MAX_SEND_BUFFER = Limit(
    "max_send_buffer",
    1024 * 1024,  # signals are small: a client with this much unsent data is not reading
    "BYTES",
    "data waiting for a client that does not read; over it the client is dropped (its "
    "connection is reset: a close frame would wait too)",
)

LIMITS = (
    MAX_MESSAGE_SIZE,
    MAX_TOPICS,
    MAX_TOPICS_PER_MESSAGE,
    MAX_TOPIC_LENGTH,
    MESSAGES_PER_SECOND,
    MESSAGE_BURST,
    MAX_CONNECTIONS_PER_IP,
    MAX_CONNECTIONS,
    MAX_SEND_BUFFER,
)

# What clients may do: one attribute per limit, its default the declared one; None is no limit.
Limits = dataclasses.make_dataclass(
    "Limits",
    [(limit.name, int | None, dataclasses.field(default=limit.default)) for limit in LIMITS],
    frozen=True,
)

# The reasons of signaling_refusals_total: a page from an origin not allowed (HTTP 403; not a
# limit, see --allowed-origin), then the limits'.
ORIGIN = "origin"
REFUSALS = (ORIGIN, *(limit.refusal for limit in LIMITS if limit.refusal))
