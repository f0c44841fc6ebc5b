"""GET /metrics, on --metrics-port: the relay's counts in Prometheus' text format (a few
lines: no library needed)."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .limits import REFUSALS

if TYPE_CHECKING:
    from .fanout import Fanout
    from .relay import Relay


def answer_metrics(relay: Relay, connection: ServerConnection, request: Request) -> Response:
    if request.path != "/metrics":
        return connection.respond(HTTPStatus.NOT_FOUND, "only /metrics here\n")
    response = connection.respond(HTTPStatus.OK, exposition(relay))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response


def exposition(relay: Relay) -> str:
    refusals = "\n".join(
        f'signaling_refusals_total{{reason="{kind}"}} {relay.refusals[kind]}' for kind in REFUSALS
    )
    return f"""\
# HELP signaling_connections Open WebSocket connections.
# TYPE signaling_connections gauge
signaling_connections {relay.open}
# HELP signaling_topics Topics with at least one subscriber.
# TYPE signaling_topics gauge
signaling_topics {len(relay.subscribers)}
# HELP signaling_relayed_messages_total Publishes relayed to at least one subscriber.
# TYPE signaling_relayed_messages_total counter
signaling_relayed_messages_total {relay.relayed}
# HELP signaling_delivered_messages_total Messages sent to subscribers for those publishes.
# TYPE signaling_delivered_messages_total counter
signaling_delivered_messages_total {relay.delivered}
# HELP signaling_refusals_total Connections refused or closed for breaking a limit.
# TYPE signaling_refusals_total counter
{refusals}
# HELP signaling_slow_consumers_dropped_total Clients dropped for not reading.
# TYPE signaling_slow_consumers_dropped_total counter
signaling_slow_consumers_dropped_total {relay.dropped}
""" + (fanout_exposition(relay.fanout) if relay.fanout is not None else "")


def fanout_exposition(fanout: Fanout) -> str:
    return f"""\
# HELP signaling_redis_up Whether this instance reaches the others through Redis (1) or not (0).
# TYPE signaling_redis_up gauge
signaling_redis_up {int(fanout.up)}
# HELP signaling_redis_instances Other instances known (idle ones say nothing, and are forgotten).
# TYPE signaling_redis_instances gauge
signaling_redis_instances {len(fanout.others)}
# HELP signaling_redis_sent_messages_total Messages published to the other instances.
# TYPE signaling_redis_sent_messages_total counter
signaling_redis_sent_messages_total {fanout.sent}
# HELP signaling_redis_received_publishes_total Publishes read from the other instances.
# TYPE signaling_redis_received_publishes_total counter
signaling_redis_received_publishes_total {fanout.received}
# HELP signaling_redis_dropped_messages_total Messages for the others dropped: no Redis.
# TYPE signaling_redis_dropped_messages_total counter
signaling_redis_dropped_messages_total {fanout.dropped}
"""
