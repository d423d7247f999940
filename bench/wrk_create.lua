-- wrk script of the create-payment-order benchmark (bench/create_order.py runs it).
--
--   wrk -t1 -c8 -d15s --timeout 5s -s bench/wrk_create.lua http://127.0.0.1:PORT -- \
--       /api/v1/integration/payment/create <api key> <run prefix> 201
--
-- Every request carries a unique requestId (the idempotency key) and a unique orderId
-- (run prefix + wrk thread + counter), the API key, and the body of docs/API.md §3's example.
-- Every answer is checked against the expected status; done() prints one JSON line
-- (prefixed with "WRK_RESULT ") with the counts and the latency percentiles in microseconds.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  token = args[2]
  prefix = args[3]
  expected = tonumber(args[4])
  counter = 0
  ok = 0
  bad = 0
  bad_status = ""
  bad_body = ""
  headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. tid .. "-" .. counter
  local body = '{"requestId":"req-' .. id .. '","orderId":"SO-' .. id .. '","resellerId":"R1001",'
    .. '"paymentType":"ADVANCE_PAYMENT","paymentAmount":"1250000.00",'
    .. '"paymentDeadline":"2026-12-01T18:00:00+08:00","businessDesc":"30% advance","priority":1,'
    .. '"relatedBusinessId":null,"relatedBusinessType":null,"businessExpireDate":null,'
    .. '"tags":{"line":"boilers"},"creditRecordId":null}'
  return wrk.format("POST", path, headers, body)
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
