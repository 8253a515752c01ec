// Package sentrytest is a fake Sentry ingestion server that speaks the real envelope protocol, and serves
// Sentry's OTLP endpoints (otlp.go), and is as strict as Relay, so the exporter's tests catch malformed
// output. It records what it accepts, decoded
// into Sentry's shapes, keeps transactions Relay would drop after answering 200 in a separate list, and
// can inject faults (status codes, rate limits, latency, connection resets) per request.
package sentrytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of the options: a loopback port chosen by the kernel, project 1, key "public".
const (
	DefaultAddr      = "127.0.0.1:0"
	DefaultProjectID = "1"
	DefaultPublicKey = "public"
)

// ErrClosed is returned by the Wait helpers when the server closes before the condition holds.
var ErrClosed = errors.New("sentrytest: server closed")

type config struct {
	addr      string
	projectID string
	publicKey string
	prefix    string
	faults    FaultFunc
	onReceive func(Batch)
}

// Option configures a Server.
type Option func(*config)

// WithAddr listens on addr, which must be a loopback address (tests and the command never expose the
// fake on a network).
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithProjectID sets the project id the envelope route accepts (digits only, as Sentry's).
func WithProjectID(id string) Option { return func(c *config) { c.projectID = id } }

// WithPublicKey sets the DSN public key requests must authenticate with.
func WithPublicKey(key string) Option { return func(c *config) { c.publicKey = key } }

// WithPathPrefix serves under a path prefix, like a self-hosted Sentry under a sub-path ("/sentry").
func WithPathPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithFaults installs a fault injector called for every well-formed envelope request.
func WithFaults(f FaultFunc) Option { return func(c *config) { c.faults = f } }

// WithOnReceive calls f with everything an accepted request delivered, after recording it and before the
// response is written. f runs on the request's goroutine and may be called concurrently.
func WithOnReceive(f func(Batch)) Option { return func(c *config) { c.onReceive = f } }

// Server is a running fake Sentry. All methods are safe for concurrent use.
type Server struct {
	cfg       config
	ln        net.Listener
	srv       *http.Server
	ctx       context.Context
	cancel    context.CancelFunc
	serveDone chan struct{}
	serveErr  error
	closeOnce sync.Once
	handlers  sync.WaitGroup

	mu              sync.Mutex
	closing         bool
	faults          FaultFunc
	changed         chan struct{}
	requests        int
	faultCount      int
	envelopes       []Envelope
	transactions    []Transaction
	errorEvents     []ErrorEvent
	logs            []Log
	clientReports   []ClientReport
	standaloneSpans []json.RawMessage
	discarded       []Discarded
	rejections      []Rejection
	otlpSpans       []OTLPSpan
	otlpLogs        []OTLPLog
}

// New starts a fake Sentry listening on a loopback address. Close it when done.
func New(opts ...Option) (*Server, error) {
	cfg := config{addr: DefaultAddr, projectID: DefaultProjectID, publicKey: DefaultPublicKey}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.projectID == "" || strings.Trim(cfg.projectID, "0123456789") != "" {
		return nil, fmt.Errorf("sentrytest: project id %q: must be digits", cfg.projectID)
	}
	if cfg.publicKey == "" || strings.ContainsAny(cfg.publicKey, "@:/ ,=") {
		return nil, fmt.Errorf("sentrytest: public key %q: must be non-empty without '@:/ ,='", cfg.publicKey)
	}
	cfg.prefix = strings.TrimRight(cfg.prefix, "/")
	if cfg.prefix != "" && !strings.HasPrefix(cfg.prefix, "/") {
		cfg.prefix = "/" + cfg.prefix
	}
	if err := CheckLoopback(cfg.addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("sentrytest: listen on %q: %w", cfg.addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		ln:        ln,
		ctx:       ctx,
		cancel:    cancel,
		serveDone: make(chan struct{}),
		faults:    cfg.faults,
		changed:   make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

// NewTest starts a fake Sentry for a test and closes it in t.Cleanup; it fails the test if it cannot start.
func NewTest(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("sentrytest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// CheckLoopback returns an error unless addr is host:port with a loopback host.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sentrytest: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("sentrytest: address %q: host must be a loopback address", addr)
	}
	return nil
}

// Close stops the server, ends injected delays and waits for every handler to return. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		_ = s.srv.Close()
		<-s.serveDone
		s.handlers.Wait()
	})
	if s.serveErr != nil {
		return fmt.Errorf("sentrytest: serve: %w", s.serveErr)
	}
	return nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// DSN is the DSN senders use, e.g. http://public@127.0.0.1:41234/sentry/1.
func (s *Server) DSN() string {
	return "http://" + s.cfg.publicKey + "@" + s.Addr() + s.cfg.prefix + "/" + s.cfg.projectID
}

// EnvelopeURL is the envelope endpoint derived from the DSN.
func (s *Server) EnvelopeURL() string {
	return "http://" + s.Addr() + s.envelopePath()
}

func (s *Server) envelopePath() string {
	return s.cfg.prefix + "/api/" + s.cfg.projectID + "/envelope/"
}

// SetFaults replaces the fault injector while running (nil: none), e.g. to end a simulated outage.
func (s *Server) SetFaults(f FaultFunc) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// ServeHTTP handles one request: route, auth, content type, body decoding, envelope parsing, fault
// injection, then recording and a 200.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.requests++
	seq := s.requests
	faults := s.faults
	s.notifyLocked()
	s.mu.Unlock()
	defer s.handlers.Done()

	if signal, ok := s.otlpSignal(r.URL.Path); ok {
		s.serveOTLP(w, r, seq, faults, signal)
		return
	}
	if r.URL.Path != s.envelopePath() {
		s.reject(w, seq, protoErr(http.StatusNotFound, "no route for %s (expected %s)", r.URL.Path, s.envelopePath()))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, seq, protoErr(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	if perr := checkAuth(r, s.cfg.publicKey, true); perr != nil {
		s.reject(w, seq, perr)
		return
	}
	if perr := checkContentType(r.Header.Get("Content-Type")); perr != nil {
		s.reject(w, seq, perr)
		return
	}
	wire, err := io.ReadAll(io.LimitReader(r.Body, maxWireBytes+1))
	if err != nil {
		s.reject(w, seq, protoErr(http.StatusBadRequest, "reading body: %v", err))
		return
	}
	if len(wire) > maxWireBytes {
		s.reject(w, seq, protoErr(http.StatusRequestEntityTooLarge, "body exceeds %d bytes", maxWireBytes))
		return
	}
	body, perr := decodeBody(wire, r.Header.Get("Content-Encoding"))
	if perr != nil {
		s.reject(w, seq, perr)
		return
	}
	env, perr := parseEnvelope(body)
	if perr != nil {
		s.reject(w, seq, perr)
		return
	}

	fault, status, handled := s.applyFault(w, r, seq, faults, &Request{Seq: seq, Header: r.Header.Clone(), WireBytes: len(wire), DecodedBytes: len(body), Envelope: env, ItemTypes: env.ItemTypes()})
	if handled {
		return
	}
	if !fault.DropEnvelope {
		batch := s.record(seq, env)
		if s.cfg.onReceive != nil {
			s.cfg.onReceive(batch)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	id := normalizeEventID(env.Header.EventID)
	if id == "" {
		_, _ = io.WriteString(w, "{}")
		return
	}
	_, _ = io.WriteString(w, `{"id":"`+id+`"}`)
}

// applyFault asks faults (nil: none) about req and carries out what it decides up to the answer: a
// delay, a dropped connection, extra headers, an error status. handled reports that the request was
// answered (or dropped); otherwise the caller answers with status.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, seq int, faults FaultFunc, req *Request) (Fault, int, bool) {
	var fault Fault
	if faults != nil {
		fault = faults(req)
	}
	if !fault.IsZero() {
		s.mu.Lock()
		s.faultCount++
		s.mu.Unlock()
	}
	if fault.Delay > 0 {
		timer := time.NewTimer(fault.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			s.addRejection(Rejection{Seq: seq, Reason: "request ended during injected delay"})
			// Returning without a response would make net/http send an empty 200: drop the connection.
			dropConnection(w)
			return fault, 0, true
		}
	}
	if fault.CloseConnection {
		s.addRejection(Rejection{Seq: seq, Reason: "connection closed by injected fault"})
		dropConnection(w)
		return fault, 0, true
	}
	for k, v := range fault.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	status := http.StatusOK
	if fault.Status != 0 {
		status = fault.Status
	}
	if status < 200 || status > 299 {
		reason := fault.Reason
		if reason == "" {
			reason = "fakesentry: injected status " + strconv.Itoa(status)
		}
		s.reject(w, seq, &ProtocolError{Status: status, Reason: reason})
		return fault, status, true
	}
	return fault, status, false
}

// dropConnection closes the client connection without a response, with a TCP reset where possible.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (never for this HTTP/1 server): net/http's sanctioned way to abort a response.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) reject(w http.ResponseWriter, seq int, perr *ProtocolError) {
	s.addRejection(Rejection{Seq: seq, Status: perr.Status, Reason: perr.Reason})
	w.Header().Set("X-Sentry-Error", perr.Reason)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(perr.Status)
	b, _ := json.Marshal(map[string]string{"detail": perr.Reason})
	_, _ = w.Write(b)
}

func (s *Server) addRejection(r Rejection) {
	s.mu.Lock()
	s.rejections = append(s.rejections, r)
	s.notifyLocked()
	s.mu.Unlock()
}

// notifyLocked wakes the Wait helpers; callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// checkAuth accepts exactly one of the X-Sentry-Auth header or the sentry_key query parameter. An
// envelope's header must name sentry_version 7 and a sentry_client; Sentry's OTLP endpoints take a
// header with the key alone (full is false).
func checkAuth(r *http.Request, key string, full bool) *ProtocolError {
	header := r.Header.Get("X-Sentry-Auth")
	query := r.URL.Query()
	_, hasQuery := query["sentry_key"]
	switch {
	case header != "" && hasQuery:
		return protoErr(http.StatusUnauthorized, "multiple authorization payloads (X-Sentry-Auth header and sentry_key query)")
	case header == "" && !hasQuery:
		return protoErr(http.StatusUnauthorized, "missing authorization information")
	case hasQuery:
		if v, ok := query["sentry_version"]; ok && (len(v) != 1 || v[0] != "7") {
			return protoErr(http.StatusUnauthorized, "unsupported sentry_version %q", query.Get("sentry_version"))
		}
		if got := query.Get("sentry_key"); got != key {
			return protoErr(http.StatusUnauthorized, "invalid sentry_key %q", got)
		}
		return nil
	}
	const scheme = "sentry "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return protoErr(http.StatusUnauthorized, "X-Sentry-Auth %q does not start with \"Sentry \"", header)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(header[len(scheme):], ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return protoErr(http.StatusUnauthorized, "X-Sentry-Auth: malformed field %q", part)
		}
		fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if v, ok := fields["sentry_version"]; (full || ok) && v != "7" {
		return protoErr(http.StatusUnauthorized, "X-Sentry-Auth: sentry_version %q, want 7", v)
	}
	if full && fields["sentry_client"] == "" {
		return protoErr(http.StatusUnauthorized, "X-Sentry-Auth: missing sentry_client")
	}
	if got := fields["sentry_key"]; got != key {
		return protoErr(http.StatusUnauthorized, "X-Sentry-Auth: invalid sentry_key %q", got)
	}
	return nil
}

func checkContentType(ct string) *ProtocolError {
	if ct == "" {
		return protoErr(http.StatusBadRequest, "missing Content-Type, want application/x-sentry-envelope")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-sentry-envelope" {
		return protoErr(http.StatusBadRequest, "Content-Type %q, want application/x-sentry-envelope", ct)
	}
	return nil
}
