-- wrk_stream.lua — load check for mockllm: short streamed OpenAI replies
-- (TOKENS tokens, itl 0), DEPTH requests pipelined per connection write.
--
--   build/mockllm -q &                       # prints its port
--   taskset -c 0 ... (pin mockllm), then:
--   DEPTH=16 TOKENS=10 taskset -c 1 wrk -t1 -c64 -d10s \
--       -s bench/mockllm/wrk_stream.lua http://127.0.0.1:PORT/
--
-- wrk counts complete responses; compare with mockllm's own CPU time
-- (/proc/PID/stat utime+stime) to get requests per core-second, since on
-- a small machine the client is usually the bottleneck.
local depth = tonumber(os.getenv("DEPTH") or "1")
local tokens = tonumber(os.getenv("TOKENS") or "10")
local body = '{"model":"gpt-x@tokens=' .. tokens .. '","stream":true,'
	.. '"messages":[{"role":"user","content":"one two three four five six seven eight nine ten"}]}'

init = function(args)
	local r = {}
	for i = 1, depth do
		r[i] = wrk.format("POST", "/v1/chat/completions", { ["Content-Type"] = "application/json" }, body)
	end
	req = table.concat(r)
end

request = function()
	return req
end
