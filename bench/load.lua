-- wrk script shared by every scenario of bench/run.py.
--
-- Environment:
--   BENCH_REQUESTS  lines of "METHOD /path", sent in turn by each connection's thread
--   BENCH_SESSIONS  lines of "session=<cookie> <csrf token>" of logged-in users (or
--                   "bearer=<API token> -", sent as Authorization: Bearer), used in
--                   turn; a POST carries its session's token, and a POST to /index a new
--                   post's body too (POST /follow/<name> and /unfollow/<name> only the token)
--   BENCH_AGENT     the User-Agent the sessions were logged in with
--   BENCH_ACCEPT_LANGUAGE  the Accept-Language header of every request, if set
-- At the end it prints one "BENCH key=value ..." line that bench/run.py reads.

local requests = {}
local sessions = {}
local agent = os.getenv("BENCH_AGENT") or "microblog-bench"
local language = os.getenv("BENCH_ACCEPT_LANGUAGE") or ""
local counter = 0

function init(args)
  for line in string.gmatch(os.getenv("BENCH_REQUESTS") or "GET /", "[^\n]+") do
    local method, path = line:match("^(%S+)%s+(%S+)$")
    table.insert(requests, {method = method, path = path})
  end
  for line in string.gmatch(os.getenv("BENCH_SESSIONS") or "", "[^\n]+") do
    local cookie, token = line:match("^(%S+)%s+(%S+)$")
    table.insert(sessions, {cookie = cookie, token = token})
  end
end

function request()
  counter = counter + 1
  local entry = requests[(counter % #requests) + 1]
  local headers = {["User-Agent"] = agent}
  if language ~= "" then
    headers["Accept-Language"] = language
  end
  local body = nil
  if #sessions > 0 then
    -- Change user once per round of requests, so every user does every kind.
    local session = sessions[(math.floor(counter / #requests) % #sessions) + 1]
    if session.cookie:find("^bearer=") then
      -- An API token (bench/run.py's api_token): the API reads no cookie.
      headers["Authorization"] = "Bearer " .. session.cookie:sub(8)
    else
      headers["Cookie"] = session.cookie
    end
    if entry.method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = "csrf_token=" .. session.token
      if entry.path:find("^/follow/") == nil and entry.path:find("^/unfollow/") == nil then
        body = body .. "&body=Benchmark+post+" .. counter .. "&submit=Post"
      end
    end
  end
  return wrk.format(entry.method, entry.path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f " ..
    "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.timeout))
end
