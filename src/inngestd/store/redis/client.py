"""Connecting to Redis: one server (`redis://`, `rediss://`, `unix://`) or a Redis Cluster
(`redis+cluster://host:port`, `rediss+cluster://...`: any node; the client finds the rest).

Every key of a deployment carries the hash tag `{<prefix>}` (keys.py), so on a cluster each
Lua script and pipeline touches one slot and the same code runs on both kinds of client.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster

RedisClient: TypeAlias = Redis | RedisCluster

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
MAX_CONNECTIONS = 256


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0] in _CLUSTER_SCHEMES


async def connect(url: str) -> RedisClient:
    """A client for `url`, after a PING it answered (raises if it does not)."""
    scheme, _, rest = url.partition("://")
    client: RedisClient
    if scheme in _CLUSTER_SCHEMES:
        client = RedisCluster.from_url(
            f"{_CLUSTER_SCHEMES[scheme]}://{rest}", max_connections=MAX_CONNECTIONS
        )
    else:
        # A blocking pool: a burst of workers waits for a connection instead of failing.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=30
        )
        client = Redis(connection_pool=pool, decode_responses=False)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client
