// Command s3bench measures an S3 server with a real S3 SDK (aws-sdk-go-v2).
//
//	s3bench --endpoint http://127.0.0.1:9002 --phases put,get,head,delete \
//	    --size 4KiB --concurrency 16 --duration 10s --pid $(pidof server)
//
// Phases run in the order given, on the objects Prefix+00000000, 00000001...:
//
//	put            PutObject: --count objects, or as many as --duration allows
//	multipart-put  the same objects written with Create/UploadPart/Complete
//	               (--part-size parts, uploaded one after the other)
//	get            GetObject of the objects written; every body is compared
//	               byte for byte (size and content) with what was written
//	head           HeadObject of the objects written; sizes are checked
//	delete         DeleteObject of every object written, once
//	list           ListObjectsV2 of the prefix, --list-page keys a page,
//	               --list-rounds times; keys, order and sizes are checked
//
// Object i's content is a slice of a pool filled once from a seeded PRNG at
// an offset derived from i, so any reader can check any body without a
// stored copy, and objects differ from each other.
//
// Each phase prints one JSON line (stdout, or --json FILE): op/s, MiB/s,
// latency p50/p99/max, and with --pid the server's peak RSS (VmHWM, reset at
// the start of the phase through /proc/PID/clear_refs, else the largest
// VmRSS polled, with its RssAnon/RssFile split) and CPU seconds
// (utime+stime); also s3bench's own CPU seconds and how busy the whole
// machine was, since client and server share it. A table follows at the end
// (on stderr when the JSON goes to stdout). Any error or mismatch stops the
// run with exit status 1: nothing is retried.
//
// --payload: "chunked" sends STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies (the
// SDK signs the request; s3bench signs the 64 KiB chunks: see payload.go),
// "trailer" STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies with a CRC32 trailer
// (the aws cli's PUT; botocore sends 1 MiB chunks: --chunk-size 1MiB),
// "signed" the whole body's SHA-256 (aws-sdk-go-v2's default over http),
// "unsigned" UNSIGNED-PAYLOAD.
//
// Three subcommands serve bench/run.sh:
//
//	s3bench null --listen 127.0.0.1:9010
//	    a null S3 server (nullserver.go): discards bodies, serves the bytes
//	    s3bench verifies, keeps only names and sizes; the ceiling of the
//	    client and the loopback
//	s3bench disk --dir DIR --json FILE
//	    the disk's raw synced write rate (small writes each followed by
//	    fdatasync; one large write then fdatasync) and the machine's
//	    description (CPU, cores, memory, kernel, file system, disk)
//	s3bench hashfloor --json FILE
//	    the hashing floor of a large PUT (hashfloor.go): the CPU time per
//	    MiB, on one thread, of the hashes a server must compute over every
//	    byte (SHA-256 + MD5 + CRC64NVME for signed chunks, MD5 + CRC32 for
//	    the aws cli's PUT; with AES-128-GCM behind TLS), with the gateway's
//	    own hash implementations
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

func main() {
	// The SDK allocates a lot per request; collect less often (the client
	// shares the machine's cores with the server it measures).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "null":
			return runNull(args[1:], stdout, stderr)
		case "disk":
			return runDisk(args[1:], stdout, stderr)
		case "stall":
			return runStall(args[1:], stdout, stderr)
		case "hashfloor":
			return runHashFloor(args[1:], stdout, stderr)
		}
	}
	cfg, jsonFile, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "s3bench:", err)
		return 2
	}
	jsonOut, tableOut := stdout, stderr
	if jsonFile != "" && jsonFile != "-" {
		f, err := os.OpenFile(jsonFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "s3bench:", err)
			return 1
		}
		defer f.Close()
		jsonOut, tableOut = f, stdout
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "s3bench:", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := json.NewEncoder(jsonOut)
	results, err := Run(ctx, cfg, func(r Result) error { return enc.Encode(r) })
	writeTable(tableOut, results)
	if err != nil {
		fmt.Fprintf(stderr, "s3bench: FAILED: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (Config, string, error) {
	fs := pflag.NewFlagSet("s3bench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	cfg := Config{}
	var phases, size, partSize, chunkSize, jsonFile string
	fs.StringVar(&cfg.Endpoint, "endpoint", "http://127.0.0.1:9002", "S3 endpoint URL")
	fs.StringVar(&cfg.AccessKey, "access-key", envOr("S3BENCH_ACCESS_KEY", "accesskey"), "access key (default $S3BENCH_ACCESS_KEY or accesskey)")
	fs.StringVar(&cfg.SecretKey, "secret-key", envOr("S3BENCH_SECRET_KEY", "secretkey"), "secret key (default $S3BENCH_SECRET_KEY or secretkey)")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region to sign for")
	fs.StringVar(&cfg.Bucket, "bucket", "s3bench", "bucket (created if missing)")
	fs.StringVar(&cfg.Prefix, "prefix", "", "key prefix (default: a new one per run, s3bench-<time>/)")
	fs.StringVar(&cfg.Label, "label", "", "name of the target, copied into every JSON line")
	fs.StringVar(&phases, "phases", "put,get,head,delete", "phases in order: "+strings.Join(allPhases, ","))
	fs.StringVar(&size, "size", "4KiB", "object size (B, KiB, MiB, GiB; KB, MB, GB are powers of 1000)")
	fs.IntVarP(&cfg.Concurrency, "concurrency", "c", 16, "requests in flight")
	fs.DurationVarP(&cfg.Duration, "duration", "d", 10*time.Second, "length of each phase (without --count)")
	fs.Int64VarP(&cfg.Count, "count", "n", 0, "operations per phase instead of --duration (put: objects written; get/head: requests)")
	fs.Int64Var(&cfg.Existing, "existing", 0, "objects 0..N-1 of --prefix already exist, written by an earlier run with the same --size and --seed\n(so get, head, list and delete can run without writing first)")
	fs.StringVar(&cfg.Payload, "payload", payloadChunked, "request bodies: chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32 trailer), signed (SHA-256 of the body), unsigned (UNSIGNED-PAYLOAD)")
	fs.StringVar(&chunkSize, "chunk-size", "64KiB", "chunk size of --payload chunked and trailer")
	fs.StringVar(&partSize, "part-size", "8MiB", "multipart-put part size (at least 5MiB but for the last part)")
	fs.IntVar(&cfg.ListPage, "list-page", 1000, "list: keys per page (max-keys)")
	fs.IntVar(&cfg.ListRounds, "list-rounds", 3, "list: how many times the whole prefix is listed")
	fs.IntVar(&cfg.PID, "pid", 0, "server process to measure (peak RSS, CPU seconds per phase)")
	fs.DurationVar(&cfg.Sample, "sample", 20*time.Millisecond, "RSS polling interval with --pid")
	fs.StringVar(&jsonFile, "json", "", "append the JSON lines to this file instead of stdout")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "content seed")
	fs.DurationVar(&cfg.OpTimeout, "op-timeout", 5*time.Minute, "timeout of one operation")
	fs.BoolVar(&cfg.ExpectContinue, "expect-continue", false, "send Expect: 100-continue on bodies over 2 MiB (the SDK's default)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "PEM file of CA certificates to trust for https endpoints (e.g. Caddy's tls internal root)")
	fs.StringVar(&cfg.SSE, "sse", "", "server-side encryption of the objects written and read: "+sseS3+" (SSE-S3) or "+sseC+" (a fixed customer key; needs https, or a gateway allowing SSE-C over plain HTTP)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write s3bench's own CPU profile to this file (is the client the bottleneck?)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: s3bench [flags]\n\nMeasures an S3 server; see `go doc ./cmd/s3bench`.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.Size, err = parseSize(size); err != nil {
		return cfg, "", fmt.Errorf("--size: %w", err)
	}
	if cfg.PartSize, err = parseSize(partSize); err != nil || cfg.PartSize <= 0 {
		return cfg, "", fmt.Errorf("--part-size: bad size %q", partSize)
	}
	cs, err := parseSize(chunkSize)
	if err != nil || cs < 1 || cs > 64<<20 {
		return cfg, "", fmt.Errorf("--chunk-size: bad size %q (1B to 64MiB)", chunkSize)
	}
	cfg.ChunkSize = int(cs)
	for p := range strings.SplitSeq(phases, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(allPhases, p) {
			return cfg, "", fmt.Errorf("--phases: unknown phase %q (known: %s)", p, strings.Join(allPhases, ","))
		}
		cfg.Phases = append(cfg.Phases, p)
	}
	switch cfg.Payload {
	case payloadChunked, payloadTrailer, payloadSigned, payloadUnsigned:
	default:
		return cfg, "", fmt.Errorf("--payload: %q is not chunked, trailer, signed or unsigned", cfg.Payload)
	}
	if cfg.SSE != "" && cfg.SSE != sseS3 && cfg.SSE != sseC {
		return cfg, "", fmt.Errorf("--sse: %q is not %s or %s", cfg.SSE, sseS3, sseC)
	}
	if cfg.Concurrency < 1 {
		return cfg, "", fmt.Errorf("--concurrency must be at least 1")
	}
	if cfg.Count < 0 || cfg.Count == 0 && cfg.Duration <= 0 {
		return cfg, "", fmt.Errorf("give a positive --count or --duration")
	}
	if cfg.ListPage < 1 || cfg.ListPage > 1000 {
		return cfg, "", fmt.Errorf("--list-page must be 1 to 1000")
	}
	if cfg.Existing < 0 {
		return cfg, "", fmt.Errorf("--existing must not be negative")
	}
	if cfg.Existing > 0 && cfg.Prefix == "" {
		return cfg, "", fmt.Errorf("--existing needs the --prefix of the run that wrote the objects")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "s3bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "/"
	}
	return cfg, jsonFile, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseSize parses "4096", "4KiB", "64MiB", "1GiB", "10MB", "4k".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[strings.ToLower(unit)]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// formatSize is the inverse of parseSize for round binary sizes.
func formatSize(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

func writeTable(w io.Writer, results []Result) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tphase\tsize\tconc\tpayload\tops\tsecs\top/s\tMiB/s\tp50 ms\tp99 ms\tverified\tsrv RSS peak MiB\t(anon/file)\tsrv CPU s\tclient CPU s\thost busy %\tothers %\t")
	for _, r := range results {
		rss, parts, cpu := "-", "-", "-"
		if r.procUsage != nil {
			rss = fmt.Sprintf("%.1f", r.RSSPeakMiB)
			parts = fmt.Sprintf("%.0f/%.0f", r.AnonPeakMiB, r.FilePeakMiB)
			cpu = fmt.Sprintf("%.2f", r.CPUSeconds)
		}
		label := r.Label
		if label == "" {
			label = "-"
		}
		payload := r.Payload
		if payload == "" {
			payload = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%.2f\t%.0f\t%.0f\t\n",
			label, r.Phase, formatSize(r.Size), r.Concurrency, payload, r.Ops, r.Seconds, r.OpsPerSec, r.MiBPerSec,
			r.P50ms, r.P99ms, r.Verified, rss, parts, cpu, r.ClientCPU, r.HostBusyPct, r.OtherPct)
	}
	tw.Flush()
	for _, r := range results {
		if r.Phase == phaseList {
			fmt.Fprintf(w, "list: %d keys, %d listings, median listing %.3f s (%d keys a page on average)\n", r.Keys, r.Listings, r.ListingSeconds, r.Keys/max(int64(r.Ops)/int64(max(r.Listings, 1)), 1))
		}
	}
}
