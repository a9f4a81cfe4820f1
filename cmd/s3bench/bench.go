package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Phases, run in the order given.
const (
	phasePut       = "put"
	phaseGet       = "get"
	phaseHead      = "head"
	phaseDelete    = "delete"
	phaseList      = "list"
	phaseMultipart = "multipart-put"
)

var allPhases = []string{phasePut, phaseGet, phaseHead, phaseDelete, phaseList, phaseMultipart}

// Config is one benchmark run.
type Config struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string
	Prefix    string // keys are Prefix + %08d
	Label     string // the target's name, copied into every result

	Phases      []string
	Size        int64
	PartSize    int64 // multipart-put
	Concurrency int
	Duration    time.Duration // per phase, when Count is 0
	Count       int64         // per phase: objects written, bodies read, ...
	Existing    int64         // objects 0..Existing-1 exist before the run
	Payload     string
	ChunkSize   int
	ListPage    int
	ListRounds  int

	PID            int
	Sample         time.Duration
	Seed           uint64
	OpTimeout      time.Duration
	ExpectContinue bool
	Insecure       bool
	CAFile         string // PEM certificates to trust (e.g. Caddy's internal CA)
	SSE            string // "": none; sseS3 or sseC (see sse.go)
	CPUProfile     string
}

// Result is one measurement: one phase of one run.
type Result struct {
	Time        string  `json:"time"`
	Label       string  `json:"label,omitempty"`
	Phase       string  `json:"phase"`
	Size        int64   `json:"size"`
	Concurrency int     `json:"concurrency"`
	Payload     string  `json:"payload,omitempty"`
	Ops         int64   `json:"ops"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_s"`
	MiBPerSec   float64 `json:"mib_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
	// Verified counts the checks that passed: bodies compared byte for
	// byte (get), sizes and ETag presence (head), listed keys with their
	// order and size (list).
	Verified  int64   `json:"verified"`
	ClientCPU float64 `json:"client_cpu_s"`
	// The machine's CPU (all cores, any process) over the phase: busy and
	// I/O wait, in percent. Client and server share the machine.
	HostBusyPct   float64 `json:"host_cpu_busy_pct"`
	HostIOWaitPct float64 `json:"host_iowait_pct"`
	// OtherPct is the part of HostBusyPct used by neither s3bench nor (with
	// --pid) the server: other work on the machine skewing the numbers.
	OtherPct float64 `json:"host_other_cpu_pct"`
	// list: Keys listed per listing, the listings done, and the median
	// time of one whole listing.
	Keys           int64   `json:"keys,omitempty"`
	Listings       int     `json:"listings,omitempty"`
	ListingSeconds float64 `json:"listing_s,omitempty"`
	PartSize       int64   `json:"part_size,omitempty"`
	// hashfloor: the hashes measured and their CPU time per MiB.
	Hashes      string  `json:"hashes,omitempty"`
	CPUmsPerMiB float64 `json:"cpu_ms_per_mib,omitempty"`
	// Machine describes the host (phase "machine" of `s3bench disk`).
	Machine *Machine `json:"machine,omitempty"`
	*procUsage
}

// bench is a run in progress.
type bench struct {
	cfg     Config
	client  *s3.Client
	content *content
	written int64 // objects 0..written-1 exist with content.object(i)
}

func newClient(cfg Config) (*s3.Client, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.Concurrency,
		MaxIdleConnsPerHost: 2 * cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
		ForceAttemptHTTP2:   false,
	}
	if cfg.Insecure || cfg.CAFile != "" {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: cfg.Insecure}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in %s", cfg.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	threshold := int64(-1) // no Expect: 100-continue (a round trip per large PUT)
	if cfg.ExpectContinue {
		threshold = 0 // the SDK default (2 MiB)
	}
	return s3.New(s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		HTTPClient:   &http.Client{Transport: tr},
		// Every error is reported, none retried.
		Retryer: aws.NopRetryer{},
		// We verify bodies ourselves; no CRC on top on either side.
		RequestChecksumCalculation:                aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation:                aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
		ContinueHeaderThresholdBytes:              threshold,
		APIOptions:                                []func(*middleware.Stack) error{payloadOption(cfg.Payload, cfg.SecretKey, cfg.ChunkSize)},
	}), nil
}

// Run runs cfg's phases, calling emit with each result as it is measured.
func Run(ctx context.Context, cfg Config, emit func(Result) error) ([]Result, error) {
	client, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	b := &bench{cfg: cfg, client: client, written: cfg.Existing}
	if err := b.ensureBucket(ctx); err != nil {
		return nil, err
	}
	needContent := false
	for _, p := range cfg.Phases {
		needContent = needContent || p == phasePut || p == phaseGet || p == phaseMultipart
	}
	if needContent {
		b.content = newContent(cfg.Size, cfg.Seed)
	}
	var results []Result
	for _, p := range cfg.Phases {
		r, err := b.phase(ctx, p)
		if err != nil {
			return results, fmt.Errorf("%s: %w", p, err)
		}
		results = append(results, r)
		if emit != nil {
			if err := emit(r); err != nil {
				return results, err
			}
		}
	}
	return results, nil
}

func (b *bench) ensureBucket(ctx context.Context) error {
	_, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.cfg.Bucket})
	if err == nil {
		return nil
	}
	_, err = b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b.cfg.Bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", b.cfg.Bucket, err)
	}
	return nil
}

func (b *bench) key(i int64) string { return fmt.Sprintf("%s%08d", b.cfg.Prefix, i) }

// phase measures one phase.
func (b *bench) phase(ctx context.Context, name string) (Result, error) {
	cfg := b.cfg
	r := Result{Label: cfg.Label, Phase: name, Size: cfg.Size, Concurrency: cfg.Concurrency}
	var op opFunc
	count := cfg.Count
	conc := cfg.Concurrency
	switch name {
	case phasePut, phaseMultipart:
		r.Payload = cfg.Payload
		op = b.put
		if name == phaseMultipart {
			r.PartSize = cfg.PartSize
			op = b.multipartPut
		}
	case phaseGet, phaseHead:
		if b.written == 0 {
			return r, fmt.Errorf("no objects to read: run put or multipart-put first, or give --existing")
		}
		op = b.get
		if name == phaseHead {
			op = b.head
		}
	case phaseDelete:
		if b.written == 0 {
			return r, fmt.Errorf("no objects to delete: run put or multipart-put first, or give --existing")
		}
		op = b.del
		count = b.written // each object once
	case phaseList:
		r.Concurrency = 1
		return b.list(ctx, r)
	default:
		return r, fmt.Errorf("unknown phase")
	}
	if count == 0 && cfg.Duration <= 0 {
		return r, fmt.Errorf("neither a count nor a duration")
	}
	smp, err := startSampler(cfg.PID, cfg.Sample)
	if err != nil {
		return r, fmt.Errorf("--pid: %w", err)
	}
	cpu0, host0 := selfCPU(), mustHostCPU()
	st, err := runWorkers(ctx, conc, count, cfg.Duration, cfg.OpTimeout, cfg.Size, op)
	r.ClientCPU = (selfCPU() - cpu0).Seconds()
	r.HostBusyPct, r.HostIOWaitPct = hostUsage(host0, mustHostCPU())
	usage, uerr := smp.finish()
	if err != nil {
		return r, err
	}
	if uerr != nil {
		return r, uerr
	}
	r.procUsage = usage
	switch name {
	case phasePut, phaseMultipart:
		b.written = max(b.written, st.ops)
	case phaseDelete:
		b.written = 0
	}
	st.fill(&r)
	return r, nil
}

// opFunc does operation i with a worker's buffer and returns the bytes
// moved and the checks passed.
type opFunc func(ctx context.Context, i int64, buf []byte) (bytes int64, verified int64, err error)

func (b *bench) put(ctx context.Context, i int64, _ []byte) (int64, int64, error) {
	data := b.content.object(i)
	in := &s3.PutObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(b.key(i)), Body: newBody(data)}
	in.ServerSideEncryption = b.sseS3()
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = b.sseC()
	out, err := b.client.PutObject(ctx, in)
	if err != nil {
		return 0, 0, opError("PutObject", b.key(i), err)
	}
	if aws.ToString(out.ETag) == "" {
		return 0, 0, fmt.Errorf("PutObject %s: no ETag in the response", b.key(i))
	}
	return int64(len(data)), 0, nil
}

func (b *bench) multipartPut(ctx context.Context, i int64, _ []byte) (int64, int64, error) {
	key := b.key(i)
	data := b.content.object(i)
	create := &s3.CreateMultipartUploadInput{Bucket: &b.cfg.Bucket, Key: &key, ServerSideEncryption: b.sseS3()}
	create.SSECustomerAlgorithm, create.SSECustomerKey, create.SSECustomerKeyMD5 = b.sseC()
	up, err := b.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return 0, 0, opError("CreateMultipartUpload", key, err)
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = b.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &b.cfg.Bucket, Key: &key, UploadId: up.UploadId})
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < int64(len(data)) || n == 1; n++ {
		end := min(off+b.cfg.PartSize, int64(len(data)))
		in := &s3.UploadPartInput{
			Bucket: &b.cfg.Bucket, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: newBody(data[off:end]),
		}
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = b.sseC()
		out, err := b.client.UploadPart(ctx, in)
		if err != nil {
			abort()
			return 0, 0, opError(fmt.Sprintf("UploadPart %d", n), key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		off = end
	}
	out, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &b.cfg.Bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		abort()
		return 0, 0, opError("CompleteMultipartUpload", key, err)
	}
	if want := fmt.Sprintf("-%d\"", len(parts)); !strings.HasSuffix(aws.ToString(out.ETag), want) {
		return 0, 0, fmt.Errorf("CompleteMultipartUpload %s: ETag %s does not end in %s", key, aws.ToString(out.ETag), want)
	}
	return int64(len(data)), 0, nil
}

func (b *bench) get(ctx context.Context, i int64, buf []byte) (int64, int64, error) {
	i %= b.written
	key := b.key(i)
	in := &s3.GetObjectInput{Bucket: &b.cfg.Bucket, Key: &key}
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = b.sseC()
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return 0, 0, opError("GetObject", key, err)
	}
	defer out.Body.Close()
	want := b.content.object(i)
	if out.ContentLength != nil && *out.ContentLength != int64(len(want)) {
		return 0, 0, fmt.Errorf("GetObject %s: Content-Length %d, %d bytes were written", key, *out.ContentLength, len(want))
	}
	n, err := verify(out.Body, want, buf)
	if err != nil {
		return n, 0, fmt.Errorf("GetObject %s: %w", key, err)
	}
	return n, 1, nil
}

func (b *bench) head(ctx context.Context, i int64, _ []byte) (int64, int64, error) {
	i %= b.written
	key := b.key(i)
	in := &s3.HeadObjectInput{Bucket: &b.cfg.Bucket, Key: &key}
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = b.sseC()
	out, err := b.client.HeadObject(ctx, in)
	if err != nil {
		return 0, 0, opError("HeadObject", key, err)
	}
	if got := aws.ToInt64(out.ContentLength); got != b.cfg.Size {
		return 0, 0, fmt.Errorf("HeadObject %s: Content-Length %d, %d bytes were written", key, got, b.cfg.Size)
	}
	if aws.ToString(out.ETag) == "" {
		return 0, 0, fmt.Errorf("HeadObject %s: no ETag", key)
	}
	return 0, 1, nil
}

func (b *bench) del(ctx context.Context, i int64, _ []byte) (int64, int64, error) {
	key := b.key(i)
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.cfg.Bucket, Key: &key}); err != nil {
		return 0, 0, opError("DeleteObject", key, err)
	}
	return 0, 0, nil
}

// list lists the prefix ListRounds times, one page at a time, and checks
// every listing holds exactly the objects written, in order, with their size.
func (b *bench) list(ctx context.Context, r Result) (Result, error) {
	cfg := b.cfg
	smp, err := startSampler(cfg.PID, cfg.Sample)
	if err != nil {
		return r, fmt.Errorf("--pid: %w", err)
	}
	cpu0, host0 := selfCPU(), mustHostCPU()
	var lat, listings []time.Duration
	var verified int64
	start := time.Now()
	for range max(cfg.ListRounds, 1) {
		t0 := time.Now()
		var token *string
		var n int64
		for {
			p0 := time.Now()
			octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
			out, err := b.client.ListObjectsV2(octx, &s3.ListObjectsV2Input{
				Bucket: &cfg.Bucket, Prefix: &cfg.Prefix, MaxKeys: aws.Int32(int32(cfg.ListPage)), ContinuationToken: token,
			})
			cancel()
			if err != nil {
				smp.finish()
				return r, opError("ListObjectsV2", cfg.Prefix, err)
			}
			lat = append(lat, time.Since(p0))
			if len(out.Contents) > cfg.ListPage {
				smp.finish()
				return r, fmt.Errorf("ListObjectsV2: %d keys in a page of at most %d", len(out.Contents), cfg.ListPage)
			}
			for _, o := range out.Contents {
				if want := b.key(n); aws.ToString(o.Key) != want {
					smp.finish()
					return r, fmt.Errorf("ListObjectsV2: key %d is %q, want %q", n, aws.ToString(o.Key), want)
				}
				if aws.ToInt64(o.Size) != cfg.Size {
					smp.finish()
					return r, fmt.Errorf("ListObjectsV2: %s has size %d, %d bytes were written", aws.ToString(o.Key), aws.ToInt64(o.Size), cfg.Size)
				}
				n++
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			if aws.ToString(out.NextContinuationToken) == "" {
				smp.finish()
				return r, fmt.Errorf("ListObjectsV2: truncated page without a continuation token")
			}
			token = out.NextContinuationToken
		}
		if n != b.written {
			smp.finish()
			return r, fmt.Errorf("ListObjectsV2: listed %d keys, %d were written", n, b.written)
		}
		verified += n
		r.Keys = n
		listings = append(listings, time.Since(t0))
	}
	elapsed := time.Since(start)
	r.ClientCPU = (selfCPU() - cpu0).Seconds()
	r.HostBusyPct, r.HostIOWaitPct = hostUsage(host0, mustHostCPU())
	usage, err := smp.finish()
	if err != nil {
		return r, err
	}
	r.procUsage = usage
	st := stats{ops: int64(len(lat)), verified: verified, elapsed: elapsed, lat: lat}
	st.fill(&r)
	r.Listings = len(listings)
	slices.Sort(listings)
	r.ListingSeconds = listings[len(listings)/2].Seconds()
	return r, nil
}

func mustHostCPU() hostCPU { h, _ := readHostCPU(); return h }

// stats are a phase's raw measurements.
type stats struct {
	ops, bytes, verified int64
	elapsed              time.Duration
	lat                  []time.Duration
}

func (s *stats) fill(r *Result) {
	r.Time = time.Now().UTC().Format(time.RFC3339)
	if s.elapsed > 0 {
		ours := r.ClientCPU
		if r.procUsage != nil {
			ours += r.CPUSeconds
		}
		r.OtherPct = max(0, r.HostBusyPct-100*ours/s.elapsed.Seconds()/float64(runtime.NumCPU()))
	}
	r.Ops, r.Bytes, r.Verified = s.ops, s.bytes, s.verified
	r.Seconds = s.elapsed.Seconds()
	if r.Seconds > 0 {
		r.OpsPerSec = float64(s.ops) / r.Seconds
		r.MiBPerSec = float64(s.bytes) / (1 << 20) / r.Seconds
	}
	slices.Sort(s.lat)
	r.P50ms, r.P99ms, r.Maxms = ms(percentile(s.lat, 50)), ms(percentile(s.lat, 99)), ms(percentile(s.lat, 100))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// runWorkers runs op with conc workers, for count operations (i = 0 ..
// count-1) or, if count is 0, until d has passed. The first error stops
// every worker and is returned.
func runWorkers(ctx context.Context, conc int, count int64, d, opTimeout time.Duration, size int64, op opFunc) (stats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var deadline time.Time
	start := time.Now()
	if count == 0 {
		deadline = start.Add(d)
	}
	bufSize := int(min(max(size, 4<<10), 1<<20))
	type worker struct {
		ops, bytes, verified int64
		lat                  []time.Duration
	}
	workers := make([]worker, conc)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			buf := make([]byte, bufSize)
			w.lat = make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				// The deadline is checked before taking an index, so that
				// every index taken is done: the objects written are
				// exactly 0..ops-1.
				if count == 0 && !time.Now().Before(deadline) {
					return
				}
				i := next.Add(1) - 1
				if count > 0 && i >= count {
					return
				}
				t0 := time.Now()
				octx, ocancel := context.WithTimeout(ctx, opTimeout)
				n, v, err := op(octx, i, buf)
				ocancel()
				if err != nil {
					if ctx.Err() == nil {
						cancel(err)
					}
					return
				}
				w.lat = append(w.lat, time.Since(t0))
				w.ops++
				w.bytes += n
				w.verified += v
			}
		}(&workers[w])
	}
	wg.Wait()
	st := stats{elapsed: time.Since(start)}
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	for _, w := range workers {
		st.ops += w.ops
		st.bytes += w.bytes
		st.verified += w.verified
		st.lat = append(st.lat, w.lat...)
	}
	return st, nil
}

// opError describes a failed request with the S3 error code when there is one.
func opError(op, key string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s %s: %s: %s (%w)", op, key, ae.ErrorCode(), ae.ErrorMessage(), err)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// newBody is a seekable reader over data (the SDK rewinds it to hash it in
// "signed" mode).
func newBody(data []byte) io.ReadSeeker { return bytes.NewReader(data) }
