package sentrytest

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Request is what a FaultFunc sees of one well-formed envelope request, after authentication and parsing
// and before anything is recorded.
type Request struct {
	// Seq is the server-wide request number (1-based, counting every request, also rejected ones).
	Seq int
	// Header is the HTTP request header.
	Header http.Header
	// WireBytes is the body size as sent; DecodedBytes after undoing Content-Encoding.
	WireBytes, DecodedBytes int
	// Envelope is the parsed envelope.
	Envelope *Envelope
	// ItemTypes lists Envelope's item types in order.
	ItemTypes []string
	// OTLPSignal is "traces" or "logs" for a request to an OTLP endpoint (Envelope is then nil), and
	// OTLPItems the spans or log records it carries.
	OTLPSignal string
	OTLPItems  int
}

// Fault changes how the server answers one request. The zero Fault means "answer normally".
type Fault struct {
	// Status, when non-zero, replaces the normal 200. A non-2xx status never records the envelope.
	Status int
	// Reason is sent as X-Sentry-Error with a non-2xx Status.
	Reason string
	// Header is added to the response (Retry-After, X-Sentry-Rate-Limits, ...), also on a normal 200.
	Header http.Header
	// Delay waits before answering; it ends early when the request's context or the server ends.
	Delay time.Duration
	// CloseConnection drops the TCP connection (with a reset) without any response; nothing is recorded.
	CloseConnection bool
	// DropEnvelope answers 2xx but records nothing, like data lost after acceptance.
	DropEnvelope bool
	// Rejected answers an OTLP request with a partial success: the first Rejected spans or log
	// records are not recorded and the answer's rejected_spans (rejected_log_records) says so, with
	// RejectedMessage as its error_message. Envelope requests ignore it.
	Rejected        int
	RejectedMessage string
}

// IsZero reports whether the fault changes nothing.
func (f Fault) IsZero() bool {
	return f.Status == 0 && f.Reason == "" && len(f.Header) == 0 && f.Delay == 0 && !f.CloseConnection && !f.DropEnvelope &&
		f.Rejected == 0
}

// FaultFunc decides the fault for each request. It is called concurrently and must be safe for that.
type FaultFunc func(r *Request) Fault

// Status answers every request with code (and an X-Sentry-Error reason when it is an error status).
func Status(code int) FaultFunc {
	return func(*Request) Fault {
		return Fault{Status: code, Reason: "fakesentry: injected status " + strconv.Itoa(code)}
	}
}

// RateLimited answers 429 with Retry-After (whole seconds, rounded up) and X-Sentry-Rate-Limits for the
// given data categories (none = all categories), as Sentry does.
func RateLimited(retryAfterSeconds float64, categories ...string) FaultFunc {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfterSeconds))))
	h.Set("X-Sentry-Rate-Limits", strconv.FormatFloat(retryAfterSeconds, 'f', -1, 64)+":"+strings.Join(categories, ";")+":organization:fakesentry")
	return func(*Request) Fault {
		return Fault{Status: http.StatusTooManyRequests, Reason: "fakesentry: rate limited", Header: h.Clone()}
	}
}

// PartialSuccess answers every OTLP request with a partial success rejecting up to n of its items.
func PartialSuccess(n int, message string) FaultFunc {
	return func(r *Request) Fault {
		if r.OTLPSignal == "" {
			return Fault{}
		}
		return Fault{Rejected: min(n, r.OTLPItems), RejectedMessage: message}
	}
}

// OnlyOTLP applies f to requests to the OTLP endpoints and answers envelopes normally.
func OnlyOTLP(f FaultFunc) FaultFunc {
	return func(r *Request) Fault {
		if r.OTLPSignal == "" {
			return Fault{}
		}
		return f(r)
	}
}

// Latency delays every answer by d and then answers normally.
func Latency(d time.Duration) FaultFunc {
	return func(*Request) Fault { return Fault{Delay: d} }
}

// ResetConnection drops every connection without answering; clients see a transport error.
func ResetConnection() FaultFunc {
	return func(*Request) Fault { return Fault{CloseConnection: true} }
}

// TooLarge answers 413 when the decoded (uncompressed) body exceeds maxBytes, as Relay measures it.
func TooLarge(maxBytes int) FaultFunc {
	return func(r *Request) Fault {
		if r.DecodedBytes <= maxBytes {
			return Fault{}
		}
		return Fault{Status: http.StatusRequestEntityTooLarge, Reason: "fakesentry: envelope of " + strconv.Itoa(r.DecodedBytes) + " bytes exceeds " + strconv.Itoa(maxBytes)}
	}
}

// RejectMalformedItem answers 400 to envelopes holding an item of one of the given types (any envelope
// when none are given), as Relay does for an item it cannot parse.
func RejectMalformedItem(itemTypes ...string) FaultFunc {
	return func(r *Request) Fault {
		for _, t := range r.ItemTypes {
			if len(itemTypes) == 0 || slices.Contains(itemTypes, t) {
				return Fault{Status: http.StatusBadRequest, Reason: "fakesentry: malformed item of type " + t}
			}
		}
		return Fault{}
	}
}

// EveryNth applies f to every n-th envelope request seen by this FaultFunc (n, 2n, ...); the others are
// answered normally. The count is the FaultFunc's own, so rejected requests do not shift it.
func EveryNth(n int, f FaultFunc) FaultFunc {
	var count atomic.Int64
	return func(r *Request) Fault {
		c := count.Add(1)
		if n > 0 && c%int64(n) == 0 {
			return f(r)
		}
		return Fault{}
	}
}

// FirstN applies f to the first n envelope requests and then answers normally: an outage that recovers.
func FirstN(n int, f FaultFunc) FaultFunc {
	var count atomic.Int64
	return func(r *Request) Fault {
		if count.Add(1) <= int64(n) {
			return f(r)
		}
		return Fault{}
	}
}

// Percent applies f to about p percent of requests. The choice is a pure function of seed and the
// request's Seq, so a run with the same request order repeats exactly.
func Percent(p float64, seed uint64, f FaultFunc) FaultFunc {
	return func(r *Request) Fault {
		x := splitmix64(seed ^ uint64(r.Seq)*0x9e3779b97f4a7c15)
		if float64(x>>11)/float64(1<<53)*100 < p {
			return f(r)
		}
		return Fault{}
	}
}

// Chain returns the first non-zero fault of fs.
func Chain(fs ...FaultFunc) FaultFunc {
	return func(r *Request) Fault {
		for _, f := range fs {
			if f == nil {
				continue
			}
			if ft := f(r); !ft.IsZero() {
				return ft
			}
		}
		return Fault{}
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
