"""Namespaces for an honest cluster test. Spark's master and workers run:
- in a network namespace of their own, joined to this one by a veth pair whose two addresses the
  test makes (10.213.N.1 here, 10.213.N.2 there), so that no one talks over 127.0.0.1;
- in a mount namespace of their own where the driver's folders (the tests' temporary folders,
  the course's bundled datasets) are empty, so that only the data root is shared.

Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `ip` and `unshare`; `Isolation.create` raises
IsolationUnavailable with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# For each folder in $1 (colon-separated), mount an empty tmpfs on it; then run the command.
HIDE = 'IFS=:; for folder in $1; do mount -t tmpfs -o size=1m tmpfs "$folder" || exit 1; done; ' \
       'shift; exec "$@"'


class IsolationUnavailable(RuntimeError):
    pass


class Isolation:
    def __init__(self, index: int, hidden: list[Path]):
        tag = f"{os.getpid() % 100000}{index}"
        self.namespace, self.host_link, self.cluster_link = f"sparkcourse-{tag}", f"scd{tag}", f"scw{tag}"
        self.driver_address, self.cluster_address = f"10.213.{index}.1", f"10.213.{index}.2"
        self.hidden = [str(folder) for folder in hidden]

    def _ip(self, *args: str, inside: bool = False) -> None:
        command = ["ip", *(("netns", "exec", self.namespace, "ip") if inside else ()), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise IsolationUnavailable(f"`{' '.join(command)}` failed: {result.stderr.strip()}")

    def create(self) -> Isolation:
        missing = [tool for tool in ("ip", "unshare", "mount") if shutil.which(tool) is None]
        if missing:
            raise IsolationUnavailable(f"missing {', '.join(missing)}")
        try:
            self._ip("netns", "add", self.namespace)
            self._ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.cluster_link)
            self._ip("link", "set", self.cluster_link, "netns", self.namespace)
            self._ip("addr", "add", f"{self.driver_address}/30", "dev", self.host_link)
            self._ip("link", "set", self.host_link, "up")
            self._ip("addr", "add", f"{self.cluster_address}/30", "dev", self.cluster_link, inside=True)
            self._ip("link", "set", self.cluster_link, "up", inside=True)
            self._ip("link", "set", "lo", "up", inside=True)
            probe = subprocess.run(self.wrap(["true"]), capture_output=True, text=True, timeout=30)
            if probe.returncode != 0:
                raise IsolationUnavailable(f"cannot hide folders: {probe.stderr.strip()}")
        except IsolationUnavailable:
            self.remove()
            raise
        return self

    def wrap(self, command: list[str]) -> list[str]:
        """`command` run in the cluster's namespaces (the same process: every step execs)."""
        return ["ip", "netns", "exec", self.namespace, "unshare", "--mount", "--propagation",
                "private", "--", "sh", "-c", HIDE, "sh", ":".join(self.hidden), *command]

    def remove(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)
