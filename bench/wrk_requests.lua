-- wrk script that sends prepared requests (bench/create_order.py's status, list and callback targets).
--
--   wrk -t1 -c8 -d15s --timeout 5s -s bench/wrk_requests.lua http://127.0.0.1:PORT -- \
--       <requests file> <expected status> <wrk threads>
--
-- The file has one request a line, tab-separated: METHOD, path, body (may be empty), then header
-- name/value pairs (bench/online_payments.write_requests_file). Thread i of n sends lines i, i+n,
-- i+2n, ... in turn and starts over at the end (a one-line file repeats one request). Every answer
-- is checked against the expected status; done() prints the same WRK_RESULT line as
-- bench/wrk_create.lua (both from bench/wrk_common.lua).

-- wrk runs a script by its path, so this chunk's source names it and wrk_common.lua is found beside it
-- from any working directory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_common.lua")

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
  reset_counts()
end

function request()
  counter = counter + 1
  return reqs[((counter - 1) % #reqs) + 1]
end
