"""What this node's processes hold across nodes: the links and monitors that a node's death must break.

Design note. Within a node a link or monitor lives in the target's host, which tells the watcher when the
target ends. Across nodes that telling needs the other node alive; when it dies nobody is left to tell, so each
side keeps, per remote node, the pairs that cross to it, and :meth:`Ledger.take` hands them all over when that
node is declared down (``noconnection`` for every one, as Erlang does). The ledger is only a record: the links and
monitors themselves stay where they always live (the hosts), and a pair left here after it ended on its own only
costs a redundant post to a process that is gone, which every host drops.
"""

from __future__ import annotations

import attrs

from .._pid import Pid

Pair = tuple[Pid, Pid]


@attrs.define
class NodePairs:
    """The pairs crossing to one remote node."""

    #: (local watcher, remote target): EXIT with noconnection when the node dies.
    watching: set[Pair] = attrs.field(factory=set)
    #: (remote watcher, local target): dropped from the local target's watchers when the node dies.
    watched_by: set[Pair] = attrs.field(factory=set)
    #: (local process, remote process): LINK_DOWN or exit with noconnection when the node dies.
    links: set[Pair] = attrs.field(factory=set)

    def __len__(self) -> int:
        return len(self.watching) + len(self.watched_by) + len(self.links)


class Ledger:
    def __init__(self) -> None:
        self._nodes: dict[str, NodePairs] = {}

    def of(self, node: str) -> NodePairs:
        pairs = self._nodes.get(node)
        if pairs is None:
            pairs = self._nodes[node] = NodePairs()
        return pairs

    def take(self, node: str) -> NodePairs:
        """Everything recorded for ``node``, forgotten here (the node is down)."""
        return self._nodes.pop(node, None) or NodePairs()

    def nodes(self) -> list[str]:
        return list(self._nodes)

    # every method below takes a remote node's name and a (local, remote) or (remote, local) pair
    def monitor_out(self, node: str, watcher: Pid, target: Pid) -> None:
        self.of(node).watching.add((watcher, target))

    def unmonitor_out(self, node: str, watcher: Pid, target: Pid) -> None:
        pairs = self._nodes.get(node)
        if pairs is not None:
            pairs.watching.discard((watcher, target))

    def monitor_in(self, node: str, watcher: Pid, target: Pid) -> None:
        self.of(node).watched_by.add((watcher, target))

    def unmonitor_in(self, node: str, watcher: Pid, target: Pid) -> None:
        pairs = self._nodes.get(node)
        if pairs is not None:
            pairs.watched_by.discard((watcher, target))

    def link(self, node: str, local: Pid, remote: Pid) -> None:
        self.of(node).links.add((local, remote))

    def unlink(self, node: str, local: Pid, remote: Pid) -> None:
        pairs = self._nodes.get(node)
        if pairs is not None:
            pairs.links.discard((local, remote))
