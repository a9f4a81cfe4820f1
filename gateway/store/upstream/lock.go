package upstream

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// Object lock on an upstream bucket created with object lock
// (docs/upstream.md): a version's retention and legal hold are the
// upstream's own, which refuses to delete a locked version whoever asks
// (any gateway, whatever its caches). A write that carries lock
// attributes sets them on the version it made right after making it,
// before it answers; UpdateObjectVersion changes them with the
// upstream's PutObjectRetention and PutObjectLegalHold (with the
// governance bypass: the gateway has already decided the change is
// allowed); reads take them from the upstream's answer. On an upstream
// bucket without object lock, lock configurations are refused.

// locking reports whether the upstream bucket has object lock.
func (s *Store) locking() bool {
	return s.versioned() && s.vmode.Load() == modeLocked
}

// detectLock asks whether the versioned upstream bucket has object lock.
func (s *Store) detectLock(ctx context.Context) bool {
	enabled, _, _, _, err := s.core.Client.GetObjectLockConfig(ctx, s.bucket)
	return err == nil && enabled == "Enabled"
}

// lockHeaders are the upstream answer's headers of a version's lock.
const (
	hdrLockMode  = "X-Amz-Object-Lock-Mode"
	hdrLockUntil = "X-Amz-Object-Lock-Retain-Until-Date"
	hdrLegalHold = "X-Amz-Object-Lock-Legal-Hold"
)

// nativeLock sets m's lock attributes from the upstream's answer.
func nativeLock(m *store.Metadata, info minio.ObjectInfo) {
	m.LockMode, m.LockUntil, m.LegalHold = "", "", ""
	if mode := info.Metadata.Get(hdrLockMode); mode != "" {
		m.LockMode = mode
		m.LockUntil = info.Metadata.Get(hdrLockUntil)
		if t, err := time.Parse(time.RFC3339Nano, m.LockUntil); err == nil {
			m.LockUntil = t.UTC().Format(time.RFC3339Nano)
		}
	}
	if info.Metadata.Get(hdrLegalHold) == string(minio.LegalHoldEnabled) {
		m.LegalHold = store.LegalHoldOn
	}
}

// setLock changes the lock of upstream version up of name from old's to
// m's (upstream requests only for what changed).
func (s *Store) setLock(ctx context.Context, name, up string, old, m *store.Metadata) error {
	if old.LockMode != m.LockMode || old.LockUntil != m.LockUntil {
		opts := minio.PutObjectRetentionOptions{VersionID: up, GovernanceBypass: true}
		until, err := time.Parse(time.RFC3339Nano, m.LockUntil)
		switch {
		case m.LockMode == "":
		case err != nil:
			return fmt.Errorf("upstream: retain-until date %q: %v", m.LockUntil, err)
		case until.After(time.Now()):
			mode := minio.RetentionMode(m.LockMode)
			opts.Mode, opts.RetainUntilDate = &mode, &until
		}
		// A retention that has ended is none: it is removed (the
		// upstream takes no date in the past).
		if err := s.core.Client.PutObjectRetention(ctx, s.bucket, name, opts); err != nil {
			return s.lockErr(err)
		}
	}
	if old.LegalHold != m.LegalHold {
		st := minio.LegalHoldDisabled
		if m.LegalHold == store.LegalHoldOn {
			st = minio.LegalHoldEnabled
		}
		if err := s.core.Client.PutObjectLegalHold(ctx, s.bucket, name, minio.PutObjectLegalHoldOptions{VersionID: up, Status: &st}); err != nil {
			return s.lockErr(err)
		}
	}
	return nil
}

// lockErr maps a refused lock change.
func (s *Store) lockErr(err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case r.StatusCode == http.StatusForbidden || r.Code == "InvalidRequest" && strings.Contains(r.Message, "WORM") ||
		r.Code == "InvalidRequest" && strings.Contains(strings.ToLower(r.Message), "retention"):
		return fmt.Errorf("upstream: lock change refused (%s): %w", r.Code, store.ErrObjectLocked)
	case r.Code == "NoSuchVersion" || r.StatusCode == http.StatusNotFound:
		return fmt.Errorf("upstream: %w", store.ErrNoSuchVersion)
	}
	return s.mapErr(err)
}

// lockWritten sets the lock attributes of m on the version up of key
// just written, if it has any (on an upstream with object lock); on
// failure the version is removed again.
func (s *Store) lockWritten(ctx context.Context, bucket, key, up string, m *store.Metadata) error {
	if m.LockMode == "" && m.LegalHold == "" || !s.locking() {
		return nil
	}
	name := s.dataName(bucket, key)
	if err := s.setLock(ctx, name, up, &store.Metadata{}, m); err != nil {
		s.dropVersion(name, up)
		return err
	}
	return nil
}

// checkLockConfig refuses an object lock configuration on a bucket
// whose versioning is not Enabled, or on an upstream without object
// lock.
func (s *Store) checkLockConfig(ctx context.Context, bucket string) error {
	if !s.versioned() {
		return nil // the gateway refuses lock without versions itself
	}
	if !s.locking() {
		return fmt.Errorf("upstream: object lock needs an upstream bucket created with object lock: %w", store.ErrNotSupported)
	}
	h, err := s.history(ctx, bucket, true)
	if err != nil {
		return err
	}
	if h.state() != store.Enabled {
		return fmt.Errorf("upstream: %w", store.ErrLockNeedsVersioning)
	}
	return nil
}
