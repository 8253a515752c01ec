package freelist

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestListReusesValuesAcrossGarbageCollections(t *testing.T) {
	made := 0
	l := New(2, func() *[]byte { made++; b := make([]byte, 0, 1024); return &b })
	a, b := l.Get(), l.Get()
	assert.Equal(t, 2, made)
	l.Put(a)
	l.Put(b)
	runtime.GC()
	runtime.GC()
	got1, got2 := l.Get(), l.Get()
	assert.Equal(t, 2, made, "values kept through two collections, unlike sync.Pool")
	assert.ElementsMatch(t, []*[]byte{a, b}, []*[]byte{got1, got2})
}

func TestListDropsValuesBeyondItsCapacityAndMakesNewOnesWhenEmpty(t *testing.T) {
	made := 0
	l := New(1, func() int { made++; return made })
	l.Put(10)
	l.Put(20) // dropped: capacity 1
	assert.Equal(t, 10, l.Get())
	assert.Equal(t, 1, l.Get(), "empty list makes a new value")
	assert.Equal(t, 2, l.Get())
}

func TestListWithZeroSizeStillKeepsOne(t *testing.T) {
	l := New(0, func() string { return "new" })
	l.Put("kept")
	assert.Equal(t, "kept", l.Get())
	assert.Equal(t, "new", l.Get())
}
