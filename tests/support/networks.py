"""Where the servers and browsers of a test run: a private network namespace, or loopback.

Chromium gathers no WebRTC candidates when loopback is its only interface, so as root on Linux
every server and browser of a test runs inside a network namespace made here, holding a dummy
address (198.18.0.1, a benchmarking range) that routes nowhere: peers pair on it and nothing
leaves the machine. Elsewhere they run on the normal network, where WebRTC may not pair.
"""

import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from playwright.sync_api import Playwright

from . import processes
from .browsers import chromium_path

NAMESPACE_ADDRESS = "198.18.0.1"
# The name the browsers of a namespace reach its sites by (launch_peer maps it to the sites'
# address). A page from a .localhost name is a secure context, as the published site on https is
# (private rooms need the browser's crypto, JupyterLite's service worker a secure context);
# Chromium's headless shell ignores --unsafely-treat-insecure-origin-as-secure.
SITES_NAME = "sites.localhost"
CLONE_NEWNET = 0x40000000


class Network:
    """Where the servers and browsers of one test session run.

    `name` is the network namespace, or None for the normal network. `sites_at`: the address
    its sites are served on, when not `host` (a laptop's browsers reach the site network's).
    """

    def __init__(self, name, host, chromium, laptop=None, sites_at=None):
        self.name = name
        self.host = host
        self.chromium = chromium
        self.laptop = laptop  # its Laptop, when it has one
        self.sites_at = sites_at or host

    @property
    def sites_host(self):
        """The host in the URL of a site served in this network, as its browsers open it."""
        return SITES_NAME if self.name else self.host

    def site_url(self, port):
        return f"http://{self.sites_host}:{port}"

    def command(self, cmd):
        """`cmd` (a list) made to run inside this network."""
        return ["ip", "netns", "exec", self.name, *map(str, cmd)] if self.name else [*map(str, cmd)]

    def call(self, function, *args, **kwargs):
        """Run `function(*args, **kwargs)` with its sockets in this network; return its result."""
        if not self.name:
            return function(*args, **kwargs)
        outcome = {}

        def enter_and_run():
            try:
                self.enter_from_this_thread()
                outcome["result"] = function(*args, **kwargs)
            except BaseException as error:  # re-raised in the caller's thread
                outcome["error"] = error

        thread = threading.Thread(target=enter_and_run)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def enter_from_this_thread(self):
        """Move the calling thread (only) into the namespace: sockets it opens live there."""
        if not self.name:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.name} failed")
        finally:
            os.close(fd)

    def free_port(self):
        return self.call(processes.free_port, self.host)

    def wait_for_port(self, port, timeout=30, process=None):
        self.call(processes.wait_for_port, self.host, port, timeout, process=process)


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def chromium_in(namespace, chromium, workdir) -> Path:
    """An executable that runs `chromium` inside the namespace: Playwright launches it as the
    browser, so that the browser's sockets live there."""
    wrapper = Path(workdir) / f"chromium-in-{namespace}"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {chromium} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@contextlib.contextmanager
def private_network(workdir, playwright: Playwright | None = None):
    """Yield the Network of a session: a fresh namespace when root on Linux, else the normal one."""
    chromium = chromium_path(playwright)
    if not (sys.platform == "linux" and os.geteuid() == 0 and shutil.which("ip")):
        yield Network(None, processes.LOOPBACK, chromium)
        return
    name = f"rtc-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "rtcA", "type", "veth", "peer", "name", "rtcB")
        _ip("-n", name, "addr", "add", f"{NAMESPACE_ADDRESS}/32", "dev", "rtcA")
        _ip("-n", name, "link", "set", "rtcA", "up")
        _ip("-n", name, "link", "set", "rtcB", "up")
        _ip("-n", name, "route", "add", "default", "dev", "rtcA")
        # The laptop joins now, before any browser starts: a browser that sees an address come
        # or go fails the requests it has on the way (net::ERR_NETWORK_CHANGED), so a page
        # loading at that moment would break for a reason no user of the site meets.
        laptop = Laptop(name, workdir, chromium)
        try:
            yield Network(name, NAMESPACE_ADDRESS, chromium_in(name, chromium, workdir), laptop)
        finally:
            laptop.remove()
    finally:
        _ip("netns", "delete", name)


class Laptop:
    """A device of its own in the site's network namespace `site_network`: a namespace joined to
    it by a link that a test can cut, as a laptop's Wi-Fi drops. Browsers launched on
    `laptop.network` reach the site and the signaling server at the same address as everyone
    else, through that link. Made once per session, with the site's network (private_network)."""

    ADDRESS, GATEWAY = "198.18.1.2", "198.18.1.1"  # another subnet of the benchmarking range

    def __init__(self, site_network, workdir, chromium):
        self.name = f"{site_network}-laptop"
        self.site_network = site_network
        _ip("netns", "add", self.name)
        try:
            _ip(
                "-n", site_network, "link", "add", "wifiAP", "type", "veth", "peer", "name", "wifi0"
            )
            _ip("-n", site_network, "link", "set", "wifi0", "netns", self.name)
            _ip("-n", site_network, "addr", "add", f"{self.GATEWAY}/24", "dev", "wifiAP")
            _ip("-n", site_network, "link", "set", "wifiAP", "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
            _ip("-n", self.name, "addr", "add", f"{self.ADDRESS}/24", "dev", "wifi0")
            self.restore()
        except BaseException:
            self.remove()  # a half-made laptop would be in the way of the next one
            raise
        chromium = chromium_in(self.name, chromium, workdir)
        self.network = Network(self.name, self.ADDRESS, chromium, sites_at=NAMESPACE_ADDRESS)

    def cut(self):
        """The Wi-Fi drops: the link goes down, and packets on the way are lost."""
        _ip("-n", self.name, "link", "set", "wifi0", "down")

    def restore(self):
        _ip("-n", self.name, "link", "set", "wifi0", "up")
        _ip("-n", self.name, "route", "replace", "default", "via", self.GATEWAY, "dev", "wifi0")

    def remove(self):
        # The link first: a namespace goes away only once nothing holds it any more.
        subprocess.run(  # not there if making it failed first
            ["ip", "-n", self.site_network, "link", "delete", "wifiAP"], capture_output=True
        )
        _ip("netns", "delete", self.name)


# This machine's loopback, for tests whose servers need no namespace.
LOCAL = Network(None, processes.LOOPBACK, chromium=None)
