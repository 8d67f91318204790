-- wrk script: rotate over a list of requests, one per line in the file named by BENCH_TARGETS:
--   PATH<TAB>Header: value<TAB>Header: value ...
-- "{NOW}" in a path becomes the current time in ms (the feed's "refresh" timestamp).
-- At the end, writes the run's figures as JSON to the file named by BENCH_WRK_OUT.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return string.format("%d", tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000))
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local targets = {}
local index = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_TARGETS")) do
    if line ~= "" then
      local fields = {}
      for field in (line .. "\t"):gmatch("([^\t]*)\t") do
        table.insert(fields, field)
      end
      local path = fields[1]
      local headers = {}
      for i = 2, #fields do
        local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
        if name then headers[name] = value end
      end
      local target = { path = path, headers = headers, now = path:find("{NOW}", 1, true) ~= nil }
      if not target.now then
        target.request = wrk.format("GET", path, headers)  -- built once
      end
      table.insert(targets, target)
    end
  end
  if #targets == 1 and not targets[1].now then
    -- One fixed request: let wrk send a prebuilt buffer without calling Lua per request.
    wrk.path = targets[1].path
    for name, value in pairs(targets[1].headers) do wrk.headers[name] = value end
    request = nil
  end
  -- Threads start at different places in the list, so they do not send the same request.
  index = math.floor((#targets * ((tid or 1) - 1)) / 2)
end

function request()
  index = index % #targets + 1
  local target = targets[index]
  if target.request then
    return target.request
  end
  return wrk.format("GET", (target.path:gsub("{NOW}", now_ms())), target.headers)
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("BENCH_WRK_OUT"), "w")
  local e = summary.errors
  out:write(string.format(
    '{"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}}',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
  out:close()
end
