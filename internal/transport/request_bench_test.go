package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

// rawServer answers every HTTP/1.1 request on a kept-alive connection with 200 and no body. It parses
// no more than it must, into buffers kept per connection, so it allocates nothing per request and a
// benchmark's allocations are the client's alone.
type rawServer struct {
	ln net.Listener
	wg sync.WaitGroup
}

func newRawServer(b *testing.B) *rawServer {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { _ = conn.Close() }()
				serveRaw(conn)
			}()
		}
	}()
	b.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

var (
	contentLengthPrefix = []byte("content-length:")
	okResponse          = []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
)

func serveRaw(conn net.Conn) {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		length := 0
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break // the blank line that ends the header
			}
			if len(line) > len(contentLengthPrefix) && bytes.EqualFold(line[:len(contentLengthPrefix)], contentLengthPrefix) {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLengthPrefix):])))
			}
		}
		if _, err := r.Discard(length); err != nil {
			return
		}
		if _, err := conn.Write(okResponse); err != nil {
			return
		}
	}
}

// BenchmarkRequest measures what one envelope's request costs the client, against net/http's own
// floor for the same POST: allocations and bytes per request. Sentry takes one event per request, so
// this is paid per transaction (about every 15 spans on the benchmark workload).
//
//	go test -run '^$' -bench Request -benchmem ./internal/transport
func BenchmarkRequest(b *testing.B) {
	srv := newRawServer(b)
	dsn, err := sentry.NewDsn("http://public@" + srv.ln.Addr().String() + "/1")
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte(`{"span_id":"0123456789abcdef","op":"db","description":"SELECT 1"},`), 150) // ~10 KiB
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
	}
	b.Run("net/http floor", func(b *testing.B) {
		client := newClient()
		defer client.CloseIdleConnections()
		url := dsn.GetAPIURL().String()
		for b.Loop() {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-sentry-envelope")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
	for _, tc := range []struct {
		name         string
		compression  Compression
		confighttp   bool
		instrumented bool
	}{
		{"transport", CompressionNone, false, false},
		{"transport gzip", CompressionGzip, false, false},
		// The exporter's client by default: confighttp without otelhttp (http_client_telemetry off).
		{"transport gzip confighttp", CompressionGzip, true, false},
		// http_client_telemetry on: confighttp wraps the client in otelhttp's instrumentation.
		{"transport gzip confighttp otelhttp", CompressionGzip, true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := newClient()
			if tc.confighttp {
				cfg := confighttp.NewDefaultClientConfig()
				cfg.Timeout = 30 * time.Second
				set := componenttest.NewNopTelemetrySettings()
				if !tc.instrumented {
					set.TracerProvider, set.MeterProvider = nil, nil
				}
				client, err = cfg.ToClient(context.Background(), nil, set)
				if err != nil {
					b.Fatal(err)
				}
			}
			defer client.CloseIdleConnections()
			tr, err := New(client, dsn, "sentryexporter-bench/1.0", tc.compression, 0, time.Now)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if res := tr.Send(context.Background(), body, ratelimit.CategoryTransaction); res.Outcome != Accepted {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
