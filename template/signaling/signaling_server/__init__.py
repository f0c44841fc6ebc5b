"""Signaling server for y-webrtc: the browsers editing a document meet through it.

It speaks the protocol of y-webrtc's reference server (bin/server.js in the npm
package y-webrtc), JSON text messages:

    {"type": "subscribe", "topics": [...]}    join topics (rooms)
    {"type": "unsubscribe", "topics": [...]}  leave topics
    {"type": "publish", "topic": "...", ...}  relayed to every subscriber of the
                                              topic, the sender included, with
                                              "clients": <number of subscribers>
    {"type": "ping"}                          answered by {"type": "pong"}

Only WebRTC handshakes pass through here; documents go directly between browsers.
Messages that are not such JSON objects are ignored.

The modules:

    limits.py   what one client may do, each limit declared once (its flag, variable,
                default, help, close code or HTTP status, and refusal reason)
    relay.py    connections, their topics, relaying publishes, enforcing the limits
    fanout.py   with --redis-url, sharing rooms with other instances through Redis
    metrics.py  with --metrics-port, GET /metrics in Prometheus' text format
    service.py  the WebSocket server, signals, the event loop
    logs.py     the log, where a flood of refusals writes a line now and then
    cli.py      the command line (`python server.py --help`, in the folder above)
"""
