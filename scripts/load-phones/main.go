// load-phones: the client of scripts/load-concurrency.sh. Standard library only.
//
// Worker mode (one process per backend instance: a process holds at most its open-file limit of
// sockets): PHONES keep-alive connections, opened over RAMP, each sending one device-signed
// GET /v1/documents with If-None-Match every INTERVAL (expects 304), and FULL connections sending
// full syncs back to back (expects 200), until RAMP+HOLD. Latencies count from the end of the
// ramp. Half-way through the hold it samples the server process (RSS, open files). Prints JSON.
//
// Merge mode (-merge a.json b.json ...): one JSON report from the workers' outputs.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type entry struct{ account, ts, nonce, sig, etag string }

// The entries of the wrk script `eid load-prep` writes: one signed sync per activated device.
func readLua(path string) ([]entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	field := regexp.MustCompile(`(\w+) = "((?:[^"\\]|\\.)*)"`)
	var out []entry
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "account = ") {
			continue
		}
		m := map[string]string{}
		for _, f := range field.FindAllStringSubmatch(line, -1) {
			m[f[1]] = strings.ReplaceAll(f[2], `\"`, `"`)
		}
		out = append(out, entry{m["account"], m["ts"], m["nonce"], m["sig"], m["etag"]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no entries in %s", path)
	}
	return out, nil
}

func request(e entry, conditional bool) []byte {
	var b strings.Builder
	b.WriteString("GET /v1/documents HTTP/1.1\r\nHost: backend\r\n")
	fmt.Fprintf(&b, "x-eid-account: %s\r\nx-eid-timestamp: %s\r\nx-eid-nonce: %s\r\nx-eid-signature: %s\r\n",
		e.account, e.ts, e.nonce, e.sig)
	if conditional {
		fmt.Fprintf(&b, "If-None-Match: %s\r\n", e.etag)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

type conn struct {
	c  net.Conn
	br *bufio.Reader
}

type worker struct {
	addr    string
	sources []string
	next    atomic.Uint64
	held    atomic.Int64
	mu      sync.Mutex
	errors  map[string]int
	phoneMs []float64
	fullMs  []float64
}

func (w *worker) fail(kind string) {
	w.mu.Lock()
	w.errors[kind]++
	w.mu.Unlock()
}

func (w *worker) dial() (*conn, error) {
	src := w.sources[int(w.next.Add(1))%len(w.sources)]
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", w.addr)
	if err != nil {
		return nil, err
	}
	return &conn{c, bufio.NewReaderSize(c, 4096)}, nil
}

// One request on c: the status, or an error (then c is unusable).
func roundTrip(c *conn, req []byte) (int, bool, error) {
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Close, err
}

// A client that keeps one connection and sends req at each tick of next until deadline.
func (w *worker) client(start time.Time, measureFrom, deadline time.Time, req []byte, want int,
	pace func(time.Time) time.Time, full bool) {
	time.Sleep(time.Until(start))
	var c *conn
	closeConn := func() {
		if c != nil {
			c.c.Close()
			c = nil
			w.held.Add(-1)
		}
	}
	defer closeConn()
	at := pace(time.Now())
	for time.Now().Before(deadline) {
		if c == nil {
			var err error
			if c, err = w.dial(); err != nil {
				w.fail("connect")
				time.Sleep(time.Second)
				continue
			}
			w.held.Add(1)
		}
		time.Sleep(time.Until(at))
		if !time.Now().Before(deadline) {
			break
		}
		sent := time.Now()
		status, closing, err := roundTrip(c, req)
		took := time.Since(sent)
		at = pace(sent)
		if err != nil {
			w.fail("connection")
			closeConn()
			continue
		}
		if status != want {
			w.fail("status_" + strconv.Itoa(status))
		} else if sent.After(measureFrom) {
			ms := float64(took.Microseconds()) / 1000
			w.mu.Lock()
			if full {
				w.fullMs = append(w.fullMs, ms)
			} else {
				w.phoneMs = append(w.phoneMs, ms)
			}
			w.mu.Unlock()
		}
		if closing {
			w.fail("closed_by_server")
			closeConn()
		}
	}
}

// VmRSS (kB) and open files of process pid.
func sample(pid int) (int64, int) {
	var rss int64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				f := strings.Fields(l)
				rss, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rss, len(fds)
}

type report struct {
	Phones       int            `json:"phones"`
	Full         int            `json:"full"`
	HeldMin      int64          `json:"held_min"`
	HeldAtSample int64          `json:"held_at_sample"`
	Errors       map[string]int `json:"errors"`
	PhoneMs      []float64      `json:"phone_ms"`
	FullMs       []float64      `json:"full_ms"`
	RssBaseKB    int64          `json:"rss_base_kb"`
	RssHoldKB    int64          `json:"rss_hold_kb"`
	FdsBase      int            `json:"fds_base"`
	FdsHold      int            `json:"fds_hold"`
	HoldSeconds  float64        `json:"hold_seconds"`
}

func runWorker() {
	url := flag.String("addr", "", "backend host:port")
	lua := flag.String("lua", "", "wrk script of `eid load-prep`")
	phones := flag.Int("phones", 15000, "phone connections")
	full := flag.Int("full", 16, "full-sync connections")
	interval := flag.Duration("interval", 30*time.Second, "a phone's sync interval")
	ramp := flag.Duration("ramp", 30*time.Second, "time over which the phones connect")
	hold := flag.Duration("hold", 60*time.Second, "measured time after the ramp")
	sources := flag.String("sources", "127.0.0.1", "source addresses, comma-separated")
	pid := flag.Int("server-pid", 0, "the server process, sampled half-way through the hold")
	flag.Parse()
	entries, err := readLua(*lua)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := &worker{addr: *url, sources: strings.Split(*sources, ","), errors: map[string]int{}}
	r := report{Phones: *phones, Full: *full, HoldSeconds: hold.Seconds()}
	r.RssBaseKB, r.FdsBase = sample(*pid)
	t0 := time.Now()
	measureFrom := t0.Add(*ramp)
	deadline := measureFrom.Add(*hold)
	var wg sync.WaitGroup
	for i := 0; i < *phones; i++ {
		start := t0.Add(time.Duration(int64(*ramp) * int64(i) / int64(*phones)))
		req := request(entries[i%len(entries)], true)
		// First sync at a random point of the interval, then every interval.
		first := true
		pace := func(last time.Time) time.Time {
			if first {
				first = false
				return last.Add(time.Duration(rand.Int63n(int64(*interval))))
			}
			return last.Add(*interval)
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.client(start, measureFrom, deadline, req, 304, pace, false) }()
	}
	for i := 0; i < *full; i++ {
		req := request(entries[i%len(entries)], false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(t0, measureFrom, deadline, req, 200, func(time.Time) time.Time { return time.Now() }, true)
		}()
	}
	// Held connections over the hold: the least seen, and at the sample.
	r.HeldMin = -1
	tick := time.NewTicker(250 * time.Millisecond)
	sampled := false
	for now := range tick.C {
		if now.After(deadline) {
			break
		}
		if now.Before(measureFrom) {
			continue
		}
		h := w.held.Load()
		if r.HeldMin < 0 || h < r.HeldMin {
			r.HeldMin = h
		}
		if !sampled && now.After(measureFrom.Add(*hold/2)) {
			sampled = true
			r.HeldAtSample = h
			r.RssHoldKB, r.FdsHold = sample(*pid)
		}
	}
	tick.Stop()
	wg.Wait()
	r.Errors, r.PhoneMs, r.FullMs = w.errors, w.phoneMs, w.fullMs
	json.NewEncoder(os.Stdout).Encode(r)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func merge(files []string) {
	var phones, full []float64
	errors := map[string]int{}
	out := map[string]any{}
	var target, heldMin, heldSample, rssGrowKB, rssHoldKB int64
	var fds []int
	var hold float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Fprintln(os.Stderr, f, err)
			os.Exit(2)
		}
		phones = append(phones, r.PhoneMs...)
		full = append(full, r.FullMs...)
		for k, v := range r.Errors {
			errors[k] += v
		}
		target += int64(r.Phones + r.Full)
		heldMin += r.HeldMin
		heldSample += r.HeldAtSample
		rssGrowKB += r.RssHoldKB - r.RssBaseKB
		rssHoldKB += r.RssHoldKB
		fds = append(fds, r.FdsHold)
		hold = r.HoldSeconds
	}
	sort.Float64s(phones)
	sort.Float64s(full)
	total := 0
	for _, v := range errors {
		total += v
	}
	out["connections_target"] = target
	out["held_min"] = heldMin
	out["held_at_sample"] = heldSample
	out["errors"] = total
	out["errors_by_kind"] = errors
	out["phones"] = map[string]any{"requests": len(phones), "requests_per_s": float64(len(phones)) / hold,
		"p50_ms": quantile(phones, 0.5), "p99_ms": quantile(phones, 0.99), "max_ms": quantile(phones, 1)}
	out["full_sync"] = map[string]any{"requests": len(full), "requests_per_s": float64(len(full)) / hold,
		"p50_ms": quantile(full, 0.5), "p99_ms": quantile(full, 0.99)}
	out["server_rss_mb"] = float64(rssHoldKB) / 1024
	if heldSample > 0 {
		out["server_rss_per_connection_kb"] = float64(rssGrowKB) / float64(heldSample)
	}
	out["server_open_files"] = fds
	// What the script ran with (limits, settings, load average), as JSON in EID_LOAD_SETTINGS.
	if extra := os.Getenv("EID_LOAD_SETTINGS"); extra != "" {
		var settings any
		if err := json.Unmarshal([]byte(extra), &settings); err != nil {
			fmt.Fprintln(os.Stderr, "EID_LOAD_SETTINGS:", err)
			os.Exit(2)
		}
		out["settings"] = settings
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-merge" {
		merge(os.Args[2:])
		return
	}
	runWorker()
}
