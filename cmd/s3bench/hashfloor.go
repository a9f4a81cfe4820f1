package main

// s3bench hashfloor: the hashing floor of a large PUT, the CPU per MiB a
// server cannot avoid because it must hash every byte.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/lambda/storagecli/gateway/checksum"
)

const phaseHashFloor = "hashfloor"

// floorHashes are the hash implementations the gateway uses: crypto/md5
// (the ETag, gateway/payload), crypto/sha256 (chunk signatures,
// gateway/sigv4) and the checksums of gateway/checksum; and, for a server
// behind TLS, the decryption of its records (aes128gcm).
var floorHashes = map[string]func() hash.Hash{
	"md5":       md5.New,
	"sha256":    sha256.New,
	"crc32":     ckHash("CRC32"),
	"crc32c":    ckHash("CRC32C"),
	"crc64nvme": ckHash("CRC64NVME"),
	"aes128gcm": newRecordSealer,
}

// recordSealer stands for the TLS layer in front of a server (Caddy): it
// encrypts what it is given in TLS 1.3 records of 16 KiB with AES-128-GCM
// (the cipher Go's TLS picks first on a CPU with AES instructions), what
// decrypting them costs within a few percent (the same AES-CTR and GHASH).
type recordSealer struct {
	aead  cipher.AEAD
	nonce [12]byte
	out   []byte
}

func newRecordSealer() hash.Hash {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &recordSealer{aead: aead, out: make([]byte, 0, 16<<10+aead.Overhead())}
}

func (s *recordSealer) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		rec := rest[:min(len(rest), 16<<10)]
		rest = rest[len(rec):]
		s.nonce[11]++
		s.out = s.aead.Seal(s.out[:0], s.nonce[:], rec, nil)
	}
	return len(p), nil
}

func (s *recordSealer) Sum(b []byte) []byte {
	return append(b, s.out[len(s.out)-s.aead.Overhead():]...)
}
func (s *recordSealer) Reset()         {}
func (s *recordSealer) Size() int      { return s.aead.Overhead() }
func (s *recordSealer) BlockSize() int { return 16 }

func ckHash(alg string) func() hash.Hash {
	return func() hash.Hash {
		h, err := checksum.New(alg)
		if err != nil {
			panic(err) // a constant algorithm name
		}
		return h
	}
}

// floorSets are the hashes each kind of upload makes the gateway compute
// over every byte, named after s3bench's --payload modes.
var floorSets = []struct{ name, hashes, what string }{
	{payloadChunked, "sha256+md5+crc64nvme",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, no client checksum: chunk signatures, ETag, the default CRC64NVME"},
	{payloadTrailer, "md5+crc32",
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer (the aws cli's default): ETag, CRC32"},
	{payloadUnsigned, "md5+crc64nvme", "UNSIGNED-PAYLOAD, no client checksum: ETag, the default CRC64NVME"},
	{payloadChunked + "-tls", "sha256+md5+crc64nvme+aes128gcm", "chunked, received over TLS (Caddy)"},
	{payloadTrailer + "-tls", "md5+crc32+aes128gcm", "trailer, received over TLS (Caddy)"},
	{"md5", "md5", ""},
	{"sha256", "sha256", ""},
	{"crc32", "crc32", ""},
	{"crc32c", "crc32c", ""},
	{"crc64nvme", "crc64nvme", ""},
	{"aes128gcm", "aes128gcm", ""},
}

// floorBlock is how many bytes each hash is given at a time: the gateway
// hashes bytes as it reads them into its 32 KiB write blocks.
const floorBlock = 32 << 10

// runHashFloor is `s3bench hashfloor`: for each set of hashes, the CPU time
// of one thread hashing --size bytes (the median of --repeat runs), as
// milliseconds per MiB; one JSON line per set and a table.
func runHashFloor(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("s3bench hashfloor", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	label := fs.String("label", phaseHashFloor, "name copied into every JSON line")
	jsonFile := fs.String("json", "", "append the JSON lines to this file instead of stdout")
	size := fs.String("size", "256MiB", "bytes hashed per run")
	repeat := fs.Int("repeat", 5, "runs per set (the median is reported)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: s3bench hashfloor [flags]\n\nThe CPU per MiB of the hashes a large PUT needs (see `go doc ./cmd/s3bench`).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 2
	}
	n, err := parseSize(*size)
	if err != nil || n < floorBlock || *repeat < 1 {
		fmt.Fprintln(stderr, "s3bench hashfloor: bad --size or --repeat")
		return 2
	}
	jsonOut, tableOut := stdout, stderr
	if *jsonFile != "" && *jsonFile != "-" {
		f, err := os.OpenFile(*jsonFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "s3bench hashfloor:", err)
			return 1
		}
		defer f.Close()
		jsonOut, tableOut = f, stdout
	}
	enc := json.NewEncoder(jsonOut)
	tw := tabwriter.NewWriter(tableOut, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\thashes\tCPU ms/MiB\tMiB/s per core\t")
	for _, s := range floorSets {
		r, err := hashFloor(s.hashes, n, *repeat)
		if err != nil {
			fmt.Fprintln(stderr, "s3bench hashfloor:", err)
			return 1
		}
		r.Label, r.Payload = *label, s.name
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "s3bench hashfloor:", err)
			return 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.0f\t\n", s.name, s.hashes, r.CPUmsPerMiB, r.MiBPerSec)
	}
	tw.Flush()
	return 0
}

// hashFloor measures the hashes named in set ("a+b+c"), all fed the same
// blocks in turn as the gateway feeds them, over size bytes: the median
// of repeat runs of the thread's CPU time.
func hashFloor(set string, size int64, repeat int) (Result, error) {
	var news []func() hash.Hash
	for name := range strings.SplitSeq(set, "+") {
		f, ok := floorHashes[name]
		if !ok {
			return Result{}, fmt.Errorf("unknown hash %q", name)
		}
		news = append(news, f)
	}
	data := randomBytes(1 << 20) // cycled through: hashed from cache, as the gateway hashes a block it just read
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := make([]time.Duration, repeat)
	for i := range cpu {
		hs := make([]hash.Hash, len(news))
		for j, f := range news {
			hs[j] = f()
		}
		start, err := threadCPU()
		if err != nil {
			return Result{}, err
		}
		for done := int64(0); done < size; done += floorBlock {
			off := done % int64(len(data))
			b := data[off : off+floorBlock]
			for _, h := range hs {
				h.Write(b)
			}
		}
		for _, h := range hs {
			h.Sum(nil)
		}
		end, err := threadCPU()
		if err != nil {
			return Result{}, err
		}
		cpu[i] = end - start
	}
	slices.Sort(cpu)
	med := max(cpu[repeat/2].Seconds(), 1e-9)
	mib := float64(size) / (1 << 20)
	return Result{
		Time: time.Now().UTC().Format(time.RFC3339), Phase: phaseHashFloor, Size: size, Bytes: size,
		Seconds: med, MiBPerSec: mib / med, Hashes: set, CPUmsPerMiB: med * 1000 / mib,
	}, nil
}

// threadCPU is the calling thread's CPU time (user and system), to the
// nanosecond.
func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
