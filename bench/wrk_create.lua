-- wrk script of the create-payment-order benchmark (bench/create_order.py runs it).
--
--   wrk -t1 -c8 -d15s --timeout 5s -s bench/wrk_create.lua http://127.0.0.1:PORT -- \
--       /api/v1/integration/payment/create <api key> <run prefix> 201
--
-- Every request carries a unique requestId (the idempotency key) and a unique orderId
-- (run prefix + wrk thread + counter), the API key, and the body of docs/API.md §3's example.
-- Every answer is checked against the expected status; done() prints one JSON line
-- (prefixed with "WRK_RESULT ", bench/wrk_common.lua) with the counts and the latency percentiles in
-- microseconds.

-- wrk runs a script by its path, so this chunk's source names it and wrk_common.lua is found beside it
-- from any working directory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_common.lua")

function init(args)
  path = args[1]
  token = args[2]
  prefix = args[3]
  expected = tonumber(args[4])
  reset_counts()
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
