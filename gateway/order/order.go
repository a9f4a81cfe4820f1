// Package order is what the gateway enforces about the order it serves: the
// keys allowed on it (read-write or read-only), its expiry (read-only after
// Expires, closed after Expires+Grace) and its capacity, with a Meter that
// reserves space for writes in flight so concurrent uploads cannot together
// overshoot it.
//
// An Order is immutable once handed to the gateway; key rotation replaces it
// as a whole (gateway.Handler.SetOrder).
package order

import (
	"fmt"
	"time"
)

// Key is one key pair allowed on the order.
type Key struct {
	AccessKey string
	SecretKey string
	// ReadOnly refuses every write made with the key.
	ReadOnly bool
	// BypassGovernance lets the key shorten or remove GOVERNANCE object
	// lock retention (x-amz-bypass-governance-retention).
	BypassGovernance bool
}

// Order describes the order a gateway serves.
type Order struct {
	// ID names the order in errors and metrics.
	ID string
	// Capacity is the most bytes the order may hold; 0 means unlimited.
	Capacity int64
	// Expires is when the order turns read-only; zero means never.
	Expires time.Time
	// Grace is how long after Expires reads still work.
	Grace time.Duration
	// BlockPublic forbids anonymous access altogether, whatever the
	// buckets' ACLs and policies grant, and refuses public grants.
	BlockPublic bool
	// LifecycleDay is the day of bucket lifecycle rules; 0 means S3's.
	LifecycleDay time.Duration
	// Keys are the key pairs allowed on the order. Access keys are unique.
	Keys []Key
}

// State is where an order is in its life.
type State int

// The states of an order.
const (
	// Active: everything works.
	Active State = iota
	// ReadOnly: expired; reads work until the grace period ends.
	ReadOnly
	// Closed: expired and past the grace period; every request is refused.
	Closed
)

// String returns "active", "read-only (expired)" or "closed", as
// `storagecli order list` prints them.
func (s State) String() string {
	switch s {
	case Active:
		return "active"
	case ReadOnly:
		return "read-only (expired)"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// State returns the order's state at now.
func (o *Order) State(now time.Time) State {
	switch {
	case o.Expires.IsZero() || now.Before(o.Expires):
		return Active
	case now.Before(o.Expires.Add(o.Grace)):
		return ReadOnly
	}
	return Closed
}

// Key returns the key pair with access key ak.
func (o *Order) Key(ak string) (Key, bool) {
	for _, k := range o.Keys {
		if k.AccessKey == ak {
			return k, true
		}
	}
	return Key{}, false
}

// Validate checks that the order can be served: at least one key, no empty
// or duplicate access key, no negative capacity or grace.
func (o *Order) Validate() error {
	if len(o.Keys) == 0 {
		return fmt.Errorf("order %q: no keys: anonymous access is not supported", o.ID)
	}
	if o.Capacity < 0 || o.Grace < 0 {
		return fmt.Errorf("order %q: negative capacity or grace", o.ID)
	}
	seen := make(map[string]bool, len(o.Keys))
	for _, k := range o.Keys {
		if k.AccessKey == "" || k.SecretKey == "" {
			return fmt.Errorf("order %q: empty access or secret key", o.ID)
		}
		if seen[k.AccessKey] {
			return fmt.Errorf("order %q: access key %q appears twice", o.ID, k.AccessKey)
		}
		seen[k.AccessKey] = true
	}
	return nil
}

// ExpiredMessage is the S3 error message of a write refused because the
// order expired.
func (o *Order) ExpiredMessage() string {
	return fmt.Sprintf("The order %s expired at %s and is read-only.", o.ID, o.Expires.UTC().Format(time.RFC3339))
}

// ClosedMessage is the S3 error message of a request refused because the
// order's grace period ended.
func (o *Order) ClosedMessage() string {
	return fmt.Sprintf("The order %s expired at %s and its grace period ended at %s: it is closed.",
		o.ID, o.Expires.UTC().Format(time.RFC3339), o.Expires.Add(o.Grace).UTC().Format(time.RFC3339))
}
