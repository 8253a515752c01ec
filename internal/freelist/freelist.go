// Package freelist keeps a bounded number of reusable values alive across garbage collections.
//
// sync.Pool may empty itself at any garbage collection, and the exporter collects several times a
// second; a gzip writer or a megabyte envelope buffer rebuilt after each collection costs more than
// the request it serves. A free list sized for the senders that run at once keeps them for as long
// as the exporter lives, and never more of them than were in use at once.
package freelist

// List holds up to its capacity of idle values. Get and Put never block: an empty list makes a new
// value, a full one lets the returned value go to the garbage collector.
type List[T any] struct {
	idle    chan T
	newItem func() T
}

// New returns a list that keeps at most size idle values and makes new ones with newItem.
func New[T any](size int, newItem func() T) *List[T] {
	return &List[T]{idle: make(chan T, max(size, 1)), newItem: newItem}
}

// Get returns an idle value, or a new one when none is idle.
func (l *List[T]) Get() T {
	select {
	case v := <-l.idle:
		return v
	default:
		return l.newItem()
	}
}

// Put returns v for reuse; it is dropped when the list already holds its capacity.
func (l *List[T]) Put(v T) {
	select {
	case l.idle <- v:
	default:
	}
}
