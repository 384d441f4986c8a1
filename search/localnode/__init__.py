"""The local Elasticsearch node, without Docker: Elastic's integ-test distribution from Maven Central plus the
project's analysis plugin, run as an unprivileged user on 127.0.0.1.

Modules: ``node`` (start, stop, status: :class:`LocalNode`), ``config`` (file layout, elasticsearch.yml, JVM
options), ``fetch`` (Maven download, plugin build and install), ``process`` (the JVM process and its pid file).
"""

from search.localnode.node import LocalNode, NodeStatus

__all__ = ["LocalNode", "NodeStatus"]
