"""Leadership: one process at a time runs a singleton task (scheduling, cron sync, relay).

A key holds the leader's token with a TTL the leader keeps renewing; when the leader dies the
key expires and another process takes over within the TTL.
"""

from __future__ import annotations

import uuid

from inngestd.store.redis.client import RedisClient

_ACQUIRE_OR_RENEW = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class Leadership:
    def __init__(self, client: RedisClient, key: str, ttl_ms: int = 5_000) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = ttl_ms
        self._token = uuid.uuid4().hex
        self._script = client.register_script(_ACQUIRE_OR_RENEW)

    async def held(self) -> bool:
        """Take the lead if nobody holds it, renew it if we do; False if another does."""
        return bool(
            await self._script(keys=[self._key], args=[self._token, self._ttl_ms])
        )
