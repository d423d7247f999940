-- wrk script that sends prepared requests (bench/create_order.py's status, list and callback targets).
--
--   wrk -t1 -c8 -d15s --timeout 5s -s bench/wrk_requests.lua http://127.0.0.1:PORT -- \
--       <requests file> <expected status> <wrk threads>
--
-- The file has one request a line, tab-separated: METHOD, path, body (may be empty), then header
-- name/value pairs (bench/online_payments.write_requests_file). Thread i of n sends lines i, i+n,
-- i+2n, ... in turn and starts over at the end (a one-line file repeats one request). Every answer
-- is checked against the expected status; done() prints the same WRK_RESULT line as
-- bench/wrk_create.lua.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local function split(line)
  local out = {}
  for field in string.gmatch(line .. "\t", "([^\t]*)\t") do
    table.insert(out, field)
  end
  return out
end

function init(args)
  local file = args[1]
  expected = tonumber(args[2])
  local nthreads = tonumber(args[3])
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if (i % nthreads) + 1 == tid then
      local f = split(line)
      local headers = {}
      local k = 4
      while f[k] ~= nil and f[k + 1] ~= nil do
        headers[f[k]] = f[k + 1]
        k = k + 2
      end
      local body = f[3]
      if body == "" then body = nil end
      table.insert(reqs, wrk.format(f[1], f[2], headers, body))
    end
    i = i + 1
  end
  counter = 0
  ok = 0
  bad = 0
  bad_status = ""
  bad_body = ""
end

function request()
  counter = counter + 1
  return reqs[((counter - 1) % #reqs) + 1]
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
