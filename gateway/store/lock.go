package store

import (
	"context"
	"errors"
	"time"
)

// Object lock: a version's retention (Metadata.LockMode, LockUntil) and
// legal hold (Metadata.LegalHold) forbid deleting it. The stores check
// them in the same transaction as the delete (DeleteObjectVersion with a
// version id), so no request racing a retention change can remove a
// version that is locked when it is deleted.

// Retention modes (Metadata.LockMode).
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
)

// LegalHoldOn is Metadata.LegalHold while a legal hold is set.
const LegalHoldOn = "ON"

// ErrObjectLocked: the version is protected by object lock (a retention
// date in the future or a legal hold) and cannot be deleted.
var ErrObjectLocked = errors.New("store: version protected by object lock")

// ErrLockNeedsVersioning: object lock needs versioning Enabled. A store
// with versions refuses, each in the transaction of the change,
// PutBucketConfig(ConfigObjectLock) on a bucket whose versioning is not
// Enabled and SetBucketVersioning(Suspended) on a bucket with that
// document, so no race of the two leaves a lock bucket unversioned.
var ErrLockNeedsVersioning = errors.New("store: object lock needs versioning Enabled")

type bypassKey struct{}

// WithGovernanceBypass returns ctx marked to let deletes remove versions
// under GOVERNANCE retention (never COMPLIANCE, never a legal hold).
func WithGovernanceBypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

// GovernanceBypass reports whether ctx was made by WithGovernanceBypass.
func GovernanceBypass(ctx context.Context) bool {
	b, _ := ctx.Value(bypassKey{}).(bool)
	return b
}

// Locked reports whether m's object lock forbids deleting its version at
// now; bypass lifts GOVERNANCE retention. An unreadable retain-until date
// counts as locked: a lock is never lifted by mistake.
func Locked(m *Metadata, now time.Time, bypass bool) bool {
	if m.LegalHold == LegalHoldOn {
		return true
	}
	if m.LockMode == "" {
		return false
	}
	until, err := time.Parse(time.RFC3339, m.LockUntil)
	if err != nil {
		return true
	}
	if !until.After(now) {
		return false
	}
	return m.LockMode != LockGovernance || !bypass
}
