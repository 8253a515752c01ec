package assembly

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// storageName is the name of the assembler's client of the storage extension, beside the sending
// queue's own (file_storage keeps one file per client).
const storageName = "trace_assembly"

// Storage keys. A record (one incoming batch) is a table key holding the batch's resources and scopes
// as a TracesData, and one key per fragment (the spans of one trace) holding the fragment's bytes.
// Fragment keys name their record, their index in it and the table entries of their ResourceSpans, so
// a fragment is deleted on its own, in the same storage transaction as the rest of its trace, once
// the trace is handed on.
const (
	tablePrefix    = 't'
	fragmentPrefix = 'f'
	seqDigits      = 16
	indexDigits    = 8
	localDigits    = 4
)

// errNoWalker is returned when the storage extension cannot list its keys, which recovery needs.
var errNoWalker = errors.New("its client cannot list stored entries (storage.Walker), which recovery needs")

// walStore writes held spans ahead to a storage extension and deletes them once handed on.
type walStore struct {
	id     component.ID
	owner  component.ID
	logger *zap.Logger
	seq    atomic.Uint64

	// use guards client: open and close replace it while ConsumeTraces may write.
	use    sync.RWMutex
	client storage.Client

	mu         sync.Mutex
	failed     int
	lastFailed time.Time
}

// nextSeq numbers a new record.
func (s *walStore) nextSeq() uint64 { return s.seq.Add(1) }

// open gets the storage client from the extension named by trace_assembly.storage.
func (s *walStore) open(ctx context.Context, host component.Host) error {
	if host == nil {
		return fmt.Errorf("trace_assembly.storage %q: no host to find the extension in", s.id)
	}
	ext, ok := host.GetExtensions()[s.id]
	if !ok {
		return fmt.Errorf("trace_assembly.storage %q: no such extension (is it listed under service.extensions?)", s.id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return fmt.Errorf("trace_assembly.storage %q: not a storage extension", s.id)
	}
	client, err := se.GetClient(ctx, component.KindExporter, s.owner, storageName)
	if err != nil {
		return fmt.Errorf("trace_assembly.storage %q: %w", s.id, err)
	}
	if _, ok := client.(storage.Walker); !ok {
		_ = client.Close(ctx)
		return fmt.Errorf("trace_assembly.storage %q: %w", s.id, errNoWalker)
	}
	s.use.Lock()
	s.client = client
	s.use.Unlock()
	return nil
}

func (s *walStore) close(ctx context.Context) error {
	s.use.Lock()
	defer s.use.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Close(ctx)
	s.client = nil
	if err != nil {
		return fmt.Errorf("trace_assembly.storage %q: closing: %w", s.id, err)
	}
	return nil
}

// write stores a record's table and fragments in one storage transaction.
func (s *walStore) write(ctx context.Context, rec *record, frags []*heldTrace, table []byte) error {
	s.use.RLock()
	defer s.use.RUnlock()
	if s.client == nil {
		return fmt.Errorf("trace_assembly.storage %q: not started", s.id)
	}
	ops := make([]*storage.Operation, 0, len(frags)+1)
	ops = append(ops, storage.SetOperation(tableKey(rec.seq), table))
	for _, f := range frags {
		ops = append(ops, storage.SetOperation(fragmentKey(&f.frags[0]), f.frags[0].data))
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("trace_assembly.storage %q: writing %d spans ahead: %w", s.id, sumSpans(frags), err)
	}
	rec.stored = true
	return nil
}

// remove deletes the fragments of traces handed on, and the tables of the records they were the last
// of, in one storage transaction. A failure is logged (at most every warnInterval, with a count): the
// traces were handed on, and the next start would send them again.
func (s *walStore) remove(ctx context.Context, keys []string, done []*record) {
	ops := make([]*storage.Operation, 0, len(keys)+len(done))
	for _, k := range keys {
		ops = append(ops, storage.DeleteOperation(k))
	}
	for _, rec := range done {
		if rec.stored {
			ops = append(ops, storage.DeleteOperation(tableKey(rec.seq)))
		}
	}
	s.use.RLock()
	err := errors.New("storage closed")
	if s.client != nil {
		err = s.client.Batch(ctx, ops...)
	}
	s.use.RUnlock()
	if err == nil {
		return
	}
	s.mu.Lock()
	s.failed += len(keys)
	now := time.Now()
	log, failed := now.Sub(s.lastFailed) >= warnInterval, s.failed
	if log {
		s.failed, s.lastFailed = 0, now
	}
	s.mu.Unlock()
	if log {
		s.logger.Warn("Could not delete traces handed on from trace assembly's storage; a restart will send them again",
			zap.String("storage", s.id.String()), zap.Int("fragments", failed), zap.Error(err))
	}
}

// storedRecord is what recovery found of one record.
type storedRecord struct {
	seq   uint64
	table []byte
	frags []storedFragment
}

type storedFragment struct {
	key    string
	index  uint32
	locals []int32
	data   []byte
}

// load reads every stored record. Keys it does not know are left alone.
func (s *walStore) load(ctx context.Context) ([]*storedRecord, error) {
	bySeq := make(map[uint64]*storedRecord)
	get := func(seq uint64) *storedRecord {
		r := bySeq[seq]
		if r == nil {
			r = &storedRecord{seq: seq}
			bySeq[seq] = r
		}
		return r
	}
	maxSeq := uint64(0)
	s.use.RLock()
	defer s.use.RUnlock()
	err := s.client.(storage.Walker).Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		switch {
		case len(key) == 1+seqDigits && key[0] == tablePrefix:
			seq, err := strconv.ParseUint(key[1:], 16, 64)
			if err != nil {
				return nil, nil
			}
			get(seq).table = slices.Clone(value)
			maxSeq = max(maxSeq, seq)
		case len(key) > 1+seqDigits+indexDigits && key[0] == fragmentPrefix:
			seq, index, locals, ok := parseFragmentKey(key)
			if !ok {
				return nil, nil
			}
			r := get(seq)
			r.frags = append(r.frags, storedFragment{key: key, index: index, locals: locals, data: slices.Clone(value)})
			maxSeq = max(maxSeq, seq)
		}
		return nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("trace_assembly.storage %q: reading held spans: %w", s.id, err)
	}
	s.seq.Store(maxSeq)
	out := make([]*storedRecord, 0, len(bySeq))
	for _, r := range bySeq {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *storedRecord) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return out, nil
}

// recover holds again every trace stored by an earlier run, record by record, oldest first: they go
// through the quiet period again, and the bounds apply as to new input. Fragments that cannot be
// decoded, or whose table is missing, are deleted and logged.
func (a *Assembler) recover(ctx context.Context) error {
	records, err := a.store.load(ctx)
	if err != nil {
		return err
	}
	var spans, traces, bad int
	var badKeys []string
	for _, sr := range records {
		rec, frags, locals, n, broken := a.restore(sr)
		for _, f := range broken {
			badKeys = append(badKeys, f.key)
		}
		bad += len(broken)
		if len(frags) == 0 {
			if sr.table != nil {
				badKeys = append(badKeys, tableKey(sr.seq))
			}
			continue
		}
		if err := a.hold(ctx, rec, frags, locals, n); err != nil {
			return err
		}
		spans += n
		traces += len(frags)
	}
	if len(badKeys) > 0 {
		a.store.remove(ctx, badKeys, nil)
	}
	if bad > 0 {
		a.logger.Error("Trace assembly's storage held fragments that do not decode; they are deleted",
			zap.String("storage", a.store.id.String()), zap.Int("fragments", bad))
	}
	if spans > 0 {
		a.logger.Info("Trace assembly recovered held spans from storage",
			zap.String("storage", a.store.id.String()), zap.Int("spans", spans), zap.Int("fragments", traces))
	}
	return nil
}

// restore decodes one stored record into fragments ready to hold, and returns the fragments that do not
// decode.
func (a *Assembler) restore(sr *storedRecord) (*record, []*heldTrace, []localGroup, int, []storedFragment) {
	if sr.table == nil {
		return nil, nil, nil, 0, sr.frags
	}
	table, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(sr.table)
	if err != nil {
		return nil, nil, nil, 0, sr.frags
	}
	locals := make([]localGroup, 0, table.ResourceSpans().Len())
	for _, rs := range table.ResourceSpans().All() {
		if rs.ScopeSpans().Len() != 1 {
			return nil, nil, nil, 0, sr.frags
		}
		ss := rs.ScopeSpans().At(0)
		locals = append(locals, localGroup{rs: rs, ss: ss, rHash: hashResource(a.seed, rs), sHash: hashScope(a.seed, ss)})
	}
	rec := &record{seq: sr.seq, size: len(sr.table), stored: true}
	var frags []*heldTrace
	var broken []storedFragment
	n := 0
	var unmarshaler ptrace.ProtoUnmarshaler
	for _, sf := range sr.frags {
		td, err := unmarshaler.UnmarshalTraces(sf.data)
		if err != nil || td.ResourceSpans().Len() != len(sf.locals) {
			broken = append(broken, sf)
			continue
		}
		var id pcommon.TraceID
		count, ok := 0, true
		for i, rs := range td.ResourceSpans().All() {
			if int(sf.locals[i]) >= len(locals) {
				ok = false
			}
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if count == 0 {
						id = sp.TraceID()
					}
					count++
				}
			}
		}
		if !ok || count == 0 {
			broken = append(broken, sf)
			continue
		}
		rec.size += len(sf.data)
		n += count
		frags = append(frags, &heldTrace{id: id, spans: count, frags: []fragment{{
			rec: rec, index: sf.index, locals: sf.locals, spans: int32(count), data: sf.data,
		}}})
	}
	return rec, frags, locals, n, broken
}

func sumSpans(frags []*heldTrace) int {
	n := 0
	for _, f := range frags {
		n += f.spans
	}
	return n
}

func tableKey(seq uint64) string {
	b := make([]byte, 0, 1+seqDigits)
	b = append(b, tablePrefix)
	return string(appendHex(b, seq, seqDigits))
}

func fragmentKey(fr *fragment) string {
	b := make([]byte, 0, 1+seqDigits+indexDigits+localDigits*len(fr.locals))
	b = append(b, fragmentPrefix)
	b = appendHex(b, fr.rec.seq, seqDigits)
	b = appendHex(b, uint64(fr.index), indexDigits)
	for _, l := range fr.locals {
		b = appendHex(b, uint64(l), localDigits)
	}
	return string(b)
}

func parseFragmentKey(key string) (seq uint64, index uint32, locals []int32, ok bool) {
	rest := key[1:]
	if (len(rest)-seqDigits-indexDigits)%localDigits != 0 {
		return 0, 0, nil, false
	}
	seq, err := strconv.ParseUint(rest[:seqDigits], 16, 64)
	if err != nil {
		return 0, 0, nil, false
	}
	idx, err := strconv.ParseUint(rest[seqDigits:seqDigits+indexDigits], 16, 32)
	if err != nil {
		return 0, 0, nil, false
	}
	rest = rest[seqDigits+indexDigits:]
	for len(rest) > 0 {
		l, err := strconv.ParseUint(rest[:localDigits], 16, 16)
		if err != nil {
			return 0, 0, nil, false
		}
		locals = append(locals, int32(l))
		rest = rest[localDigits:]
	}
	return seq, uint32(idx), locals, true
}

const hexDigits = "0123456789abcdef"

// appendHex appends v as exactly width lowercase hex digits (the low ones), so keys sort by number.
func appendHex(b []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return b
}
