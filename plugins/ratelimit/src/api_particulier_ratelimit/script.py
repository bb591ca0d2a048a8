"""The Redis side of the sliding log: one atomic script per decision.

The log of a key is a sorted set of admission times, in microseconds of the Redis server's
own clock (``TIME``): every worker and host reads the same clock, so their skews do not
matter. The key expires one window after its newest admission: an idle key costs nothing.
"""

from __future__ import annotations

# KEYS[1]  the key's log
# ARGV[1]  quota                     ARGV[2]  window, µs
# ARGV[3]  "1" to count a call, "0" to look only
# ARGV[4…] ages (µs) of calls this process admitted on its own while Redis was away,
#          written into the shared log at its first call for the key once Redis is back
# Returns {admitted (0|1), entries in the window, µs until one more call is admissible,
#          the Redis clock of the decision in µs}.
SLIDING_LOG = """
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local quota = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
for i = 4, #ARGV do
  local at = now - tonumber(ARGV[i])
  if at > now - window then
    redis.call('ZADD', key, at, 'c' .. string.format('%.0f', at) .. '.' .. i)
  end
end
local count = redis.call('ZCARD', key)
local admitted = 0
if ARGV[3] == '1' and count < quota then
  -- Within one microsecond the count grows with each admission: the member is unique.
  redis.call('ZADD', key, now, string.format('%.0f', now) .. '.' .. count)
  count = count + 1
  admitted = 1
end
local reset = 0
if count > 0 then
  local index = 0
  if count >= quota then index = count - quota end
  local entry = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  reset = math.ceil(tonumber(entry[2]) + window - now)
  if admitted == 1 or #ARGV > 3 then
    redis.call('PEXPIRE', key, math.floor(window / 1000) + 1)
  end
end
return {admitted, count, reset, now}
"""
