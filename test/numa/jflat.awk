# jflat.awk — flatten one JSON document (stdin) into "path=value" lines, so
# that the guest's busybox shell can read hugemem's --json output without
# python or jq:
#
#   {"nodes":[0,1],"pools":[{"page_size_bytes":2097152,"mount":null}]}
#   -> nodes#=2  nodes.0=0  nodes.1=1  pools#=1  pools.0.page_size_bytes=2097152
#      pools.0.mount=null
#
# Arrays also give "PATH#=COUNT". Strings lose their quotes; escapes are kept
# as written (hugemem's output has none in the fields the tests read). A
# malformed document stops with "jflat: error at N" on stderr and status 1.

function fail(what) {
	printf "jflat: %s at %d\n", what, pos > "/dev/stderr"
	bad = 1
	exit 1
}

function skip_ws() {
	while (pos <= n && index(" \t\r\n", substr(s, pos, 1)) > 0)
		pos++
}

function parse_string(    out, c) {
	if (substr(s, pos, 1) != "\"")
		fail("string expected")
	pos++
	out = ""
	while (pos <= n) {
		c = substr(s, pos, 1)
		if (c == "\\") {
			out = out substr(s, pos, 2)
			pos += 2
			continue
		}
		pos++
		if (c == "\"")
			return out
		out = out c
	}
	fail("unterminated string")
}

function parse_scalar(path,    start) {
	start = pos
	while (pos <= n && index(",}] \t\r\n", substr(s, pos, 1)) == 0)
		pos++
	if (pos == start)
		fail("value expected")
	print path "=" substr(s, start, pos - start)
}

function parse_object(path,    key, c) {
	pos++
	skip_ws()
	if (substr(s, pos, 1) == "}") {
		pos++
		return
	}
	while (pos <= n) {
		skip_ws()
		key = parse_string()
		skip_ws()
		if (substr(s, pos, 1) != ":")
			fail("':' expected")
		pos++
		parse_value(path == "" ? key : path "." key)
		skip_ws()
		c = substr(s, pos, 1)
		pos++
		if (c == "}")
			return
		if (c != ",")
			fail("',' or '}' expected")
	}
	fail("unterminated object")
}

function parse_array(path,    i, c) {
	pos++
	i = 0
	skip_ws()
	if (substr(s, pos, 1) == "]") {
		pos++
		print path "#=0"
		return
	}
	while (pos <= n) {
		parse_value(path "." i)
		i++
		skip_ws()
		c = substr(s, pos, 1)
		pos++
		if (c == "]") {
			print path "#=" i
			return
		}
		if (c != ",")
			fail("',' or ']' expected")
	}
	fail("unterminated array")
}

function parse_value(path,    c) {
	skip_ws()
	c = substr(s, pos, 1)
	if (c == "{")
		parse_object(path)
	else if (c == "[")
		parse_array(path)
	else if (c == "\"")
		print path "=" parse_string()
	else
		parse_scalar(path)
}

{ s = s $0 "\n" }

END {
	if (bad)
		exit 1
	n = length(s)
	pos = 1
	skip_ws()
	if (pos > n)
		fail("empty input")
	parse_value("")
}
