// Package semconv decides how an OpenTelemetry span looks in Sentry: its op, description, transaction name and
// source, its status, and which of its attributes are worth a Sentry tag.
//
// It reads both the current OpenTelemetry semantic conventions and the legacy keys that older instrumentations
// still emit (http.method, db.statement, net.peer.name, ...), because a collector receives spans from every SDK
// generation at once. Everything here is a pure function of a span's name, kind and attributes: no I/O, no
// package-level state, no allocation beyond the strings it has to build. The mapping is documented field by
// field in docs/mapping.md, and a test keeps that document in step with the attribute keys read here.
package semconv
