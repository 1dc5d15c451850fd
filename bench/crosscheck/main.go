// Command crosscheck measures interop servers from outside the project: a load generator of its
// own, in Go with the standard library only, sharing no code with `interop bench`. It runs the
// bench's `small` and `raw` loads (docs/BENCH.md) against each address it is given, in
// interleaved rounds, and checks every acknowledgement (number, length and SHA-256).
//
//	go run . -secs 3 -rounds 3 rust=127.0.0.1:4000 java=127.0.0.1:4001
//
// Each server must be started beforehand: framed mode for `small`, raw mode for `raw` (pass the
// raw server's address as name=small-addr,raw-addr). It prints each figure's median and its ratio
// to the first server; bench/crosscheck.sh starts the servers and runs it.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	name      string
	framed    string
	raw       string
	small     []float64
	rawCounts []float64
}

func main() {
	secs := flag.Float64("secs", 3, "seconds per measurement")
	rounds := flag.Int("rounds", 3, "measured rounds (after one warm-up); the figure is the median")
	flag.Parse()
	var targets []*target
	for _, arg := range flag.Args() {
		name, addrs, ok := strings.Cut(arg, "=")
		framed, raw, _ := strings.Cut(addrs, ",")
		if !ok || framed == "" {
			fmt.Fprintf(os.Stderr, "error: %q is not name=framed-addr[,raw-addr]\n", arg)
			os.Exit(2)
		}
		targets = append(targets, &target{name: name, framed: framed, raw: raw})
	}
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "error: no server given (name=framed-addr[,raw-addr])")
		os.Exit(2)
	}
	d := time.Duration(*secs * float64(time.Second))
	for round := 0; round <= *rounds; round++ {
		for turn := range targets {
			t := targets[(turn+round)%len(targets)]
			rate, err := small(t.framed, 100, 64, d)
			if err != nil {
				fail(t.name, "small", err)
			}
			if round > 0 {
				t.small = append(t.small, rate)
			}
			if t.raw == "" {
				continue
			}
			rate, err = raw(t.raw, 50, 16, d)
			if err != nil {
				fail(t.name, "raw", err)
			}
			if round > 0 {
				t.rawCounts = append(t.rawCounts, rate)
			}
		}
	}
	fmt.Printf("%-16s %22s %22s\n", "server", "small msgs/s", "raw conns/s")
	first := targets[0]
	for _, t := range targets {
		fmt.Printf("%-16s %22s %22s\n", t.name, figure(t.small, first.small), figure(t.rawCounts, first.rawCounts))
	}
	fmt.Printf("median of %d × %.1f s; ratios to %s; generator: Go, standard library\n", *rounds, *secs, first.name)
}

func fail(name, load string, err error) {
	fmt.Fprintf(os.Stderr, "error: %s %s: %v\n", name, load, err)
	os.Exit(1)
}

func figure(values, base []float64) string {
	if len(values) == 0 {
		return "-"
	}
	v := median(values)
	if len(base) == 0 || median(base) == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.0f (%.2f×)", v, v/median(base))
}

func median(values []float64) float64 {
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// small: `connections` framed connections at once, each sending `size`-byte messages
// stop-and-wait for `d`; acknowledged messages per second.
func small(addr string, connections, size int, d time.Duration) (float64, error) {
	payload := []byte(strings.Repeat("x", size))
	sum := sha256.Sum256(payload)
	want := fmt.Sprintf(" %d %s", size, hex.EncodeToString(sum[:]))
	frame := make([]byte, 4+size)
	binary.BigEndian.PutUint32(frame, uint32(size))
	copy(frame[4:], payload)
	conns := make([]net.Conn, connections)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		conns[i] = c
	}
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, connections)
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			r := bufio.NewReader(c)
			for seq := 1; time.Now().Before(deadline); seq++ {
				if _, err := c.Write(frame); err != nil {
					errs <- err
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				reply, err := readFrame(r)
				if err != nil {
					errs <- err
					return
				}
				if string(reply) != fmt.Sprintf("ACK %d", seq)+want {
					errs <- fmt.Errorf("wrong reply to %d: %q", seq, reply)
					return
				}
				acked.Add(1)
			}
		}(c)
	}
	return rate(&wg, errs, &acked, start)
}

// rate waits for the workers, then returns the first error any of them reported, or what they
// counted per second since start.
func rate(wg *sync.WaitGroup, errs chan error, count *atomic.Int64, start time.Time) (float64, error) {
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(count.Load()) / elapsed.Seconds(), nil
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > 4096 {
		return nil, fmt.Errorf("reply of %d bytes", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}

// raw: `parallel` loops, each connecting in raw mode, writing `size` bytes, closing its write side
// and reading to the server's close, for `d`; connections served per second. Each loop connects
// from its own loopback source address, so that TIME_WAIT sockets do not crowd one port range.
func raw(addr string, parallel, size int, d time.Duration) (float64, error) {
	payload := []byte(strings.Repeat("y", size))
	var served atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			dialer := net.Dialer{Timeout: 10 * time.Second}
			for n := 0; time.Now().Before(deadline); n++ {
				host := 2 + (i*97+n)%253
				dialer.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(host))}
				c, err := dialer.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.Write(payload); err != nil {
					c.Close()
					errs <- err
					return
				}
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				rest, err := io.ReadAll(c)
				c.Close()
				if err != nil {
					errs <- err
					return
				}
				if len(rest) != 0 {
					errs <- errors.New("a raw server sent bytes back")
					return
				}
				served.Add(1)
			}
		}(i)
	}
	return rate(&wg, errs, &served, start)
}
