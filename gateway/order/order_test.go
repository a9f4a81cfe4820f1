package order

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

func TestState(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    Order
		at   time.Time
		want State
	}{
		{"never expires", Order{}, exp.Add(1000 * time.Hour), Active},
		{"before expiry", Order{Expires: exp, Grace: time.Hour}, exp.Add(-time.Nanosecond), Active},
		{"at expiry", Order{Expires: exp, Grace: time.Hour}, exp, ReadOnly},
		{"end of grace", Order{Expires: exp, Grace: time.Hour}, exp.Add(time.Hour - 1), ReadOnly},
		{"after grace", Order{Expires: exp, Grace: time.Hour}, exp.Add(time.Hour), Closed},
		{"no grace", Order{Expires: exp}, exp, Closed},
	}
	for _, tt := range tests {
		if got := tt.o.State(tt.at); got != tt.want {
			t.Errorf("%s: State = %v, want %v", tt.name, got, tt.want)
		}
	}
	for s, want := range map[State]string{Active: "active", ReadOnly: "read-only (expired)", Closed: "closed"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

func TestValidate(t *testing.T) {
	k := func(ak string) Key { return Key{AccessKey: ak, SecretKey: "s"} }
	tests := []struct {
		o  Order
		ok bool
	}{
		{Order{Keys: []Key{k("a")}}, true},
		{Order{}, false},
		{Order{Keys: []Key{k("a"), k("a")}}, false},
		{Order{Keys: []Key{{AccessKey: "a"}}}, false},
		{Order{Keys: []Key{k("a")}, Capacity: -1}, false},
	}
	for i, tt := range tests {
		if err := tt.o.Validate(); (err == nil) != tt.ok {
			t.Errorf("%d: Validate = %v", i, err)
		}
	}
}

func TestMeter(t *testing.T) {
	var m Meter
	used := int64(50)
	usage := func(context.Context) (int64, error) { return used, nil }
	ctx := context.Background()
	tests := []struct {
		n    int64
		want bool
	}{{30, true}, {20, true}, {1, false}, {0, true}}
	for _, tt := range tests {
		if ok, _ := m.Reserve(ctx, usage, 100, tt.n); ok != tt.want {
			t.Errorf("Reserve(%d) = %v (pending %d)", tt.n, ok, m.Pending())
		}
	}
	m.Release(50)
	if m.Pending() != 0 {
		t.Errorf("pending %d", m.Pending())
	}
	// Unlimited always grants.
	if ok, _ := m.Reserve(ctx, usage, 0, 1<<50); !ok {
		t.Error("unlimited refused")
	}
	m.Release(1 << 50)
	// Concurrent reservations never exceed the free space.
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := m.Reserve(ctx, usage, 100, 7); ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 7 { // 50 free / 7
		t.Errorf("granted %d", granted)
	}
}

func TestMeteredReader(t *testing.T) {
	var m Meter
	usage := func(context.Context) (int64, error) { return 0, nil }
	over := errors.New("over")
	for _, tt := range []struct {
		size, capacity int64
		ok             bool
	}{{100, 100, true}, {101, 100, false}, {3 << 20, 3 << 20, true}, {3<<20 + 1, 3 << 20, false}} {
		mr := m.NewReader(context.Background(), bytes.NewReader(make([]byte, tt.size)), usage, tt.capacity, over)
		n, err := io.Copy(io.Discard, mr)
		if tt.ok && (err != nil || n != tt.size) || !tt.ok && !errors.Is(err, over) {
			t.Errorf("size %d capacity %d: %d, %v", tt.size, tt.capacity, n, err)
		}
		if m.Pending() > tt.capacity {
			t.Errorf("reserved %d over capacity %d", m.Pending(), tt.capacity)
		}
		mr.Release()
		if m.Pending() != 0 {
			t.Errorf("pending %d after Release", m.Pending())
		}
	}
}

func TestRecount(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	put := func(bucket, key string, n int) {
		t.Helper()
		if _, err := st.PutObject(ctx, bucket, key, store.PutInput{Body: bytes.NewReader(make([]byte, n)), Size: int64(n),
			Sums: func() store.Sums { return store.Sums{MD5: make([]byte, 16)} }}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"one", "two"} {
		if err := st.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1005 { // more than a page
		put("one", fmt.Sprintf("k%04d", i), i%7)
	}
	put("two", "x", 1000)
	put("two", "x", 10) // overwrite
	up, err := st.CreateMultipartUpload(ctx, "two", "m", store.UploadInput{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if _, err := st.UploadPart(ctx, "two", "m", up, n, store.PutInput{Body: bytes.NewReader(make([]byte, 100)), Size: 100,
			Sums: func() store.Sums { return store.Sums{MD5: make([]byte, 16)} }}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Recount(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := st.Usage(ctx)
	if got != want {
		t.Errorf("Recount = %+v, Usage = %+v", got, want)
	}
	if got.Objects != 1006 {
		t.Errorf("objects %d", got.Objects)
	}
}
