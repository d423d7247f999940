-- What bench/wrk_create.lua and bench/wrk_requests.lua share: the thread table, the per-thread
-- counts, the check of every answer against the expected status, and done()'s one JSON line
-- (prefixed with "WRK_RESULT ") with the counts and the latency percentiles in microseconds.
-- Each of them runs this file first (dofile) and then defines init(), which calls reset_counts(), and
-- request().

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- Called by each script's init(): the counts done() adds up over the threads.
function reset_counts()
  counter = 0
  ok = 0
  bad = 0
  bad_status = ""
  bad_body = ""
end

function response(status, hdrs, body)
  if status == expected then
    ok = ok + 1
  else
    bad = bad + 1
    if bad_status == "" then
      bad_status = tostring(status)
      bad_body = string.sub(body or "", 1, 300)
    end
  end
end

local function esc(s)
  s = string.gsub(s, '\\', '\\\\')
  s = string.gsub(s, '"', '\\"')
  s = string.gsub(s, '[%c]', ' ')
  return s
end

function done(summary, latency, requests)
  local total_ok, total_bad, sent, first_status, first_body = 0, 0, 0, "", ""
  for _, t in ipairs(threads) do
    sent = sent + (t:get("counter") or 0)
    total_ok = total_ok + (t:get("ok") or 0)
    total_bad = total_bad + (t:get("bad") or 0)
    local s = t:get("bad_status") or ""
    if first_status == "" and s ~= "" then
      first_status = s
      first_body = t:get("bad_body") or ""
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"sent":%d,"ok":%d,"bad":%d,'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,'
      .. '"first_bad_status":"%s","first_bad_body":"%s"}\n',
    summary.requests, summary.duration, sent, total_ok, total_bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    esc(first_status), esc(first_body)))
end
