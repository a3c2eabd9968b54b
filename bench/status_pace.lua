-- wrk script for bench/status_bench.sh: each connection waits DELAY_MS between requests,
-- so CONNS connections offer about CONNS * 1000 / DELAY_MS requests per second.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "20")

function delay()
  return delay_ms
end
