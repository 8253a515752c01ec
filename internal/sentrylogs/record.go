package sentrylogs

import (
	"encoding/binary"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// derived is an attribute the conversion sets itself. Each has a bit in a mask that says whether the record
// or the resource already carries the key, in which case theirs wins.
type derived uint16

const (
	derivedEnvironment derived = 1 << iota
	derivedRelease
	derivedSDKName
	derivedSDKVersion
	derivedOrigin
	derivedScopeName
	derivedScopeVersion
	derivedEventName
)

// Keys of the derived attributes. sentry.* are Sentry's default log attributes; instrumentation.* is where
// Relay puts the instrumentation scope of logs it receives over OTLP; event.name is OpenTelemetry's.
const (
	keyEnvironment  = "sentry.environment"
	keyRelease      = "sentry.release"
	keySDKName      = "sentry.sdk.name"
	keySDKVersion   = "sentry.sdk.version"
	keyOrigin       = "sentry.origin"
	keyScopeName    = "instrumentation.name"
	keyScopeVersion = "instrumentation.version"
	keyEventName    = "event.name"
)

// derivedOf names the derived attribute a key would override, or 0.
func derivedOf(key string) derived {
	switch key {
	case keyEnvironment:
		return derivedEnvironment
	case keyRelease:
		return derivedRelease
	case keySDKName:
		return derivedSDKName
	case keySDKVersion:
		return derivedSDKVersion
	case keyOrigin:
		return derivedOrigin
	case keyScopeName:
		return derivedScopeName
	case keyScopeVersion:
		return derivedScopeVersion
	case keyEventName:
		return derivedEventName
	}
	return 0
}

// resourceState is what every log of one resource shares, computed once per resource.
type resourceState struct {
	serviceName          string
	environment, release string
	// overrides are the derived attributes the resource sets itself.
	overrides derived
	// encoded holds the resource's attributes and its derived ones, each encoded once as
	// `"key":{"value":…,"type":…}`; entries and derivedEntries locate them.
	encoded               []byte
	entries               []encodedAttribute
	derivedEntries        []encodedAttribute
	hasTruncatedAttribute bool
}

// scopeState is the encoded instrumentation.* attributes of the current scope.
type scopeState struct {
	encoded []byte
	entries []encodedAttribute
}

// encodedAttribute is one attribute encoded in a buffer at [start:end].
type encodedAttribute struct {
	key        string
	bit        derived
	start, end int
	truncated  bool
}

// startResource maps and encodes the resource. Release, environment and sdk come from internal/resource, the
// mapping transactions and error events use too, so the logs of a service filter with its traces and issues.
func (c *converter) startResource(attrs pcommon.Map) {
	var repairs sanitize.Counts
	mapped := resource.Map(attrs, c.opts.Environment, &repairs)
	r := resourceState{
		serviceName:    mapped.ServiceName,
		environment:    mapped.Environment,
		release:        mapped.Release,
		encoded:        c.res.encoded[:0],
		entries:        c.res.entries[:0],
		derivedEntries: c.res.derivedEntries[:0],
		// A release or environment repaired to a name Sentry keeps counts as a cut on every log carrying it.
		hasTruncatedAttribute: repairs.Total() > 0,
	}
	for k, v := range attrs.All() {
		r.overrides |= derivedOf(k)
		start := len(r.encoded)
		var ok, truncated bool
		r.encoded, ok, truncated = appendAttribute(r.encoded, k, v, &c.scratch)
		if !ok {
			r.hasTruncatedAttribute = r.hasTruncatedAttribute || truncated
			continue
		}
		r.entries = append(r.entries, encodedAttribute{key: k, start: start, end: len(r.encoded), truncated: truncated})
	}
	for _, d := range [...]struct {
		bit        derived
		key, value string
	}{
		{derivedEnvironment, keyEnvironment, r.environment},
		{derivedRelease, keyRelease, r.release},
		{derivedSDKName, keySDKName, mapped.SDKName},
		{derivedSDKVersion, keySDKVersion, mapped.SDKVersion},
		{derivedOrigin, keyOrigin, Origin},
	} {
		if d.value == "" || r.overrides&d.bit != 0 {
			continue
		}
		start := len(r.encoded)
		var truncated bool
		r.encoded, truncated = appendStringAttribute(r.encoded, d.key, d.value)
		r.derivedEntries = append(r.derivedEntries, encodedAttribute{key: d.key, bit: d.bit, start: start, end: len(r.encoded), truncated: truncated})
	}
	c.res = r
}

// startScope encodes the scope's name and version, unless the resource sets those keys itself.
func (c *converter) startScope(scope pcommon.InstrumentationScope) {
	st := scopeState{encoded: c.scope.encoded[:0], entries: c.scope.entries[:0]}
	for _, d := range [...]struct {
		bit        derived
		key, value string
	}{
		{derivedScopeName, keyScopeName, scope.Name()},
		{derivedScopeVersion, keyScopeVersion, scope.Version()},
	} {
		if d.value == "" || c.res.overrides&d.bit != 0 {
			continue
		}
		start := len(st.encoded)
		var truncated bool
		st.encoded, truncated = appendStringAttribute(st.encoded, d.key, d.value)
		st.entries = append(st.entries, encodedAttribute{key: d.key, bit: d.bit, start: start, end: len(st.encoded), truncated: truncated})
	}
	c.scope = st
}

// recordResult is what appendRecord reports besides the bytes.
type recordResult struct {
	traceID    pcommon.TraceID
	ownTraceID bool
	truncated  bool
}

// appendRecord writes one log as Sentry's JSON.
func (c *converter) appendRecord(dst []byte, lr plog.LogRecord, scopeName string) ([]byte, recordResult) {
	var res recordResult
	logStart := len(dst)

	ts := uint64(lr.Timestamp())
	if ts == 0 {
		ts = uint64(lr.ObservedTimestamp())
	}
	if ts == 0 {
		ts = uint64(c.opts.Now.UnixNano())
	}
	dst = append(dst, `{"timestamp":`...)
	dst = appendTimestamp(dst, ts)

	level, number := levelOf(lr.SeverityNumber(), lr.SeverityText())
	dst = append(dst, `,"level":"`...)
	dst = append(dst, level...)
	dst = append(dst, '"')
	if number > 0 {
		dst = append(dst, `,"severity_number":`...)
		dst = appendSmallInt(dst, number)
	}

	dst = append(dst, `,"body":`...)
	bodyStart := len(dst)
	var cut bool
	if body := lr.Body(); body.Type() == pcommon.ValueTypeStr {
		dst, cut = appendString(dst, body.Str(), MaxBodyBytes)
	} else if body.Type() == pcommon.ValueTypeEmpty {
		// Sentry requires a body. An OpenTelemetry event often has none; its name says what happened.
		dst, cut = appendString(dst, lr.EventName(), MaxBodyBytes)
	} else {
		c.scratch = appendText(c.scratch[:0], body, MaxBodyBytes)
		dst, cut = appendBytesString(dst, c.scratch, MaxBodyBytes)
	}
	res.truncated = cut
	body := dst[bodyStart:]

	res.traceID = lr.TraceID()
	res.ownTraceID = !res.traceID.IsEmpty()
	if !res.ownTraceID {
		res.traceID = c.deriveTraceID(scopeName, ts, lr.SeverityNumber(), body)
	}
	dst = append(dst, `,"trace_id":`...)
	dst = jsonwrite.AppendHex(dst, res.traceID[:])
	if spanID := lr.SpanID(); !spanID.IsEmpty() {
		dst = append(dst, `,"span_id":`...)
		dst = jsonwrite.AppendHex(dst, spanID[:])
	}

	dst = append(dst, `,"attributes":{`...)
	a := attributeWriter{dst: dst, logStart: logStart, first: true}
	c.appendDerived(&a, lr)
	recordAttrs := lr.Attributes()
	for k, v := range recordAttrs.All() {
		a.add(k, v, &c.scratch)
	}
	c.appendResourceAttributes(&a, recordAttrs)
	dst = append(a.dst, "}}"...)
	res.truncated = res.truncated || a.truncated
	return dst, res
}

// appendDerived writes the attributes the conversion sets itself, first so that the count and size limits
// never cut them, each only when neither the record nor the resource has the key. The resource's and the
// scope's are encoded once; only event.name is per record.
func (c *converter) appendDerived(a *attributeWriter, lr plog.LogRecord) {
	var skip derived
	for k, v := range lr.Attributes().All() {
		if v.Type() != pcommon.ValueTypeEmpty {
			skip |= derivedOf(k)
		}
	}
	for _, e := range c.res.derivedEntries {
		if skip&e.bit == 0 {
			a.addEncoded(c.res.encoded[e.start:e.end], e.truncated)
		}
	}
	for _, e := range c.scope.entries {
		if skip&e.bit == 0 {
			a.addEncoded(c.scope.encoded[e.start:e.end], e.truncated)
		}
	}
	if name := lr.EventName(); name != "" && (skip|c.res.overrides)&derivedEventName == 0 {
		a.addString(keyEventName, name)
	}
}

// appendResourceAttributes copies the resource's encoded attributes, except those the record sets itself.
func (c *converter) appendResourceAttributes(a *attributeWriter, recordAttrs pcommon.Map) {
	if c.res.hasTruncatedAttribute {
		a.truncated = true
	}
	for _, e := range c.res.entries {
		if recordAttrs.Len() > 0 {
			if v, ok := recordAttrs.Get(e.key); ok && v.Type() != pcommon.ValueTypeEmpty {
				continue
			}
		}
		a.addEncoded(c.res.encoded[e.start:e.end], e.truncated)
	}
}

// attributeWriter appends attributes to one log's "attributes" object within the count and size limits.
type attributeWriter struct {
	dst       []byte
	logStart  int
	count     int
	first     bool
	truncated bool
}

// fits reports whether an attribute that took the object from mark to len(a.dst) may stay, and removes it if
// not.
func (a *attributeWriter) fits(mark int) bool {
	// 2 bytes for the closing "}}" of the attributes and the log.
	if a.count >= MaxAttributes || len(a.dst)-a.logStart+2 > MaxLogBytes {
		a.dst = a.dst[:mark]
		a.truncated = true
		return false
	}
	a.count++
	a.first = false
	return true
}

func (a *attributeWriter) comma() int {
	mark := len(a.dst)
	if !a.first {
		a.dst = append(a.dst, ',')
	}
	return mark
}

func (a *attributeWriter) add(key string, v pcommon.Value, scratch *[]byte) {
	mark := a.comma()
	var ok, cut bool
	a.dst, ok, cut = appendAttribute(a.dst, key, v, scratch)
	if !ok {
		a.dst = a.dst[:mark]
		a.truncated = a.truncated || cut
		return
	}
	if a.fits(mark) && cut {
		a.truncated = true
	}
}

func (a *attributeWriter) addString(key, value string) {
	mark := a.comma()
	var cut bool
	a.dst, cut = appendStringAttribute(a.dst, key, value)
	if a.fits(mark) && cut {
		a.truncated = true
	}
}

// appendStringAttribute writes `"key":{"value":"value","type":"string"}` for a key known to be valid.
func appendStringAttribute(dst []byte, key, value string) ([]byte, bool) {
	dst, _ = appendString(dst, key, MaxAttributeKeyBytes)
	dst = append(dst, `:{"value":`...)
	var cut bool
	dst, cut = appendString(dst, value, MaxAttributeValueBytes)
	return append(dst, `,"type":"string"}`...), cut
}

func (a *attributeWriter) addEncoded(encoded []byte, cut bool) {
	mark := a.comma()
	a.dst = append(a.dst, encoded...)
	if a.fits(mark) && cut {
		a.truncated = true
	}
}

// appendAttribute writes `"key":{"value":…,"type":…}`. It writes nothing and reports !ok for attributes
// Sentry cannot take: an empty key or one over MaxAttributeKeyBytes (cut, as that loses data), or an empty
// value (nothing to send, not counted). Types map as Sentry's attribute types allow: strings, booleans, 64-bit
// integers and finite doubles keep their type; NaN and infinities, bytes (base64), maps and arrays (JSON) become
// strings.
func appendAttribute(dst []byte, key string, v pcommon.Value, scratch *[]byte) (out []byte, ok, cut bool) {
	if key == "" || len(key) > MaxAttributeKeyBytes {
		return dst, false, true
	}
	if v.Type() == pcommon.ValueTypeEmpty {
		return dst, false, false
	}
	dst, _ = appendString(dst, key, MaxAttributeKeyBytes)
	dst = append(dst, `:{"value":`...)
	typ := "string"
	switch v.Type() {
	case pcommon.ValueTypeStr:
		dst, cut = appendString(dst, v.Str(), MaxAttributeValueBytes)
	case pcommon.ValueTypeBool:
		dst = appendBool(dst, v.Bool())
		typ = "boolean"
	case pcommon.ValueTypeInt:
		dst = appendInt(dst, v.Int())
		typ = "integer"
	case pcommon.ValueTypeDouble:
		if name, nonFin := nonFinite(v.Double()); nonFin {
			dst, _ = appendString(dst, name, MaxAttributeValueBytes)
		} else {
			dst = jsonwrite.AppendFloat(dst, v.Double(), 64)
			typ = "double"
		}
	default:
		*scratch = appendText((*scratch)[:0], v, MaxAttributeValueBytes)
		dst, cut = appendBytesString(dst, *scratch, MaxAttributeValueBytes)
	}
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	return append(dst, `"}`...), true, cut
}

// deriveTraceID makes a trace id for a record that has none, since Sentry requires one. It is a hash of what
// identifies the record (service, scope, time, severity, body), so a retried record keeps its trace id, and
// two logs share one only when they are the same log. It is never all zeros.
func (c *converter) deriveTraceID(scopeName string, ts uint64, severity plog.SeverityNumber, body []byte) pcommon.TraceID {
	hash := func(h uint64) uint64 {
		h = fnvAdd(h, c.res.serviceName)
		h = fnvUint64(h, uint64(len(c.res.serviceName)))
		h = fnvAdd(h, scopeName)
		h = fnvUint64(h, uint64(len(scopeName)))
		h = fnvUint64(h, ts)
		h = fnvUint64(h, uint64(severity))
		return fnvAdd(h, body)
	}
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], hash(fnvOffsetA))
	binary.BigEndian.PutUint64(id[8:], hash(fnvOffsetB))
	if id.IsEmpty() {
		id[15] = 1
	}
	return id
}

// levelOf maps a record's severity to Sentry's level, and returns the severity number to send (0 when the
// record has no valid one: Sentry then infers it from the level). The number decides when it is in 1..24, as
// OpenTelemetry defines the ranges; else the text; else "info".
func levelOf(number plog.SeverityNumber, text string) (string, int) {
	if number >= 1 && number <= 24 {
		return [...]string{"trace", "debug", "info", "warn", "error", "fatal"}[(number-1)/4], int(number)
	}
	if level, ok := levelFromText(text); ok {
		return level, 0
	}
	return "info", 0
}

// levelFromText reads the severity texts of common logging frameworks (OpenTelemetry's short names with or
// without a digit, log4j/logback, java.util.logging, Python, .NET, syslog), ignoring case.
func levelFromText(text string) (string, bool) {
	t := strings.TrimSpace(text)
	for len(t) > 1 && t[len(t)-1] >= '0' && t[len(t)-1] <= '9' {
		t = t[:len(t)-1]
	}
	for _, group := range [...]struct {
		level string
		names []string
	}{
		{"trace", []string{"trace", "trc", "finest", "finer", "verbose", "vrb"}},
		{"debug", []string{"debug", "dbg", "fine", "dbug"}},
		{"info", []string{"info", "inf", "information", "informational", "notice", "config"}},
		{"warn", []string{"warn", "wrn", "warning"}},
		{"error", []string{"error", "err", "eror", "severe"}},
		{"fatal", []string{"fatal", "ftl", "critical", "crit", "alert", "emerg", "emergency", "panic"}},
	} {
		for _, name := range group.names {
			if strings.EqualFold(t, name) {
				return group.level, true
			}
		}
	}
	return "", false
}

func appendSmallInt(dst []byte, n int) []byte {
	if n >= 10 {
		dst = append(dst, byte('0'+n/10))
	}
	return append(dst, byte('0'+n%10))
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func appendInt(dst []byte, n int64) []byte {
	return strconv.AppendInt(dst, n, 10)
}

// FNV-1a, 64-bit. Two runs with different offset bases make the 128 bits of a derived trace id.
const (
	fnvOffsetA = 14695981039346656037
	fnvOffsetB = 0x6c62272e07bb0142 // the upper half of FNV-1a 128's offset basis
	fnvPrime   = 1099511628211
)

func fnvAdd[T string | []byte](h uint64, data T) uint64 {
	for i := 0; i < len(data); i++ {
		h ^= uint64(data[i])
		h *= fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}
