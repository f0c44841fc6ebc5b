"""What a signaling server's /metrics (Prometheus text format) says."""

import re

from .processes import http_get

# `name value` or `name{label="..."} value`; comments (# HELP, # TYPE) do not match
SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$", re.MULTILINE)


def read_metrics(url: str, timeout: float = 5.0) -> dict[str, float]:
    """Every sample of the page at `url`, by name as printed, labels included:
    {"signaling_connections": 2.0, 'signaling_refusals_total{reason="max_topics"}': 0.0, ...}"""
    with http_get(url, timeout) as response:
        text = response.read().decode()
    return {name: float(value) for name, value in SAMPLE.findall(text)}
