package main

// s3bench stall: the memory a server holds for uploads whose bodies stop
// arriving. It opens --count connections, each sending a PutObject to its
// own key (header-signed: the SHA-256 of the body; or chunk-signed
// aws-chunked) with all but the last --tail bytes of its body, then waits
// and reads the server's RSS (--pid) before closing them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/pflag"
)

// stallConfig are the flags of s3bench stall.
type stallConfig struct {
	Endpoint, AccessKey, SecretKey, Region, Bucket string
	Count                                          int
	Size, Tail                                     int64
	Payload                                        string // payloadSigned or payloadChunked
	PID                                            int
	Settle                                         time.Duration
}

// StallResult is the JSON line of one run.
type StallResult struct {
	Payload       string  `json:"payload"`
	Count         int     `json:"count"`
	Size          int64   `json:"size"`
	Tail          int64   `json:"tail"`
	Answered      int     `json:"answered_early"` // stalled requests the server answered (refused) while held
	RSSBeforeMiB  float64 `json:"server_rss_before_mib"`
	RSSStalledMiB float64 `json:"server_rss_stalled_mib"`
	PerUploadKiB  float64 `json:"server_kib_per_upload"`
}

func runStall(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("s3bench stall", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c stallConfig
	var size, tail string
	fs.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:9002", "S3 endpoint URL (http)")
	fs.StringVar(&c.AccessKey, "access-key", envOr("S3BENCH_ACCESS_KEY", "accesskey"), "access key")
	fs.StringVar(&c.SecretKey, "secret-key", envOr("S3BENCH_SECRET_KEY", "secretkey"), "secret key")
	fs.StringVar(&c.Region, "region", "us-east-1", "region to sign for")
	fs.StringVar(&c.Bucket, "bucket", "s3bench", "bucket (created if missing)")
	fs.IntVarP(&c.Count, "count", "n", 1000, "stalled uploads")
	fs.StringVar(&size, "size", "1MiB", "declared size of each upload")
	fs.StringVar(&tail, "tail", "10KiB", "bytes of each body never sent")
	fs.StringVar(&c.Payload, "payload", payloadSigned, "signed (SHA-256 of the body in the header) or chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)")
	fs.IntVar(&c.PID, "pid", 0, "server process whose RSS is measured (required)")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait after the last upload stalled before reading the RSS")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	var err error
	if c.Size, err = parseSize(size); err == nil {
		c.Tail, err = parseSize(tail)
	}
	if err == nil && (c.PID <= 0 || c.Tail >= c.Size || (c.Payload != payloadSigned && c.Payload != payloadChunked)) {
		err = errors.New("need --pid, --tail below --size, --payload signed or chunked")
	}
	if err != nil {
		fmt.Fprintln(stderr, "s3bench stall:", err)
		return 2
	}
	res, err := Stall(context.Background(), c)
	if err != nil {
		fmt.Fprintln(stderr, "s3bench stall:", err)
		return 1
	}
	_ = json.NewEncoder(stdout).Encode(res)
	return 0
}

// Stall runs one measurement.
func Stall(ctx context.Context, c stallConfig) (*StallResult, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("--endpoint %q: an http:// URL is needed", c.Endpoint)
	}
	if code, err := c.send(ctx, u.Host, "/"+c.Bucket, nil); err != nil || (code != 200 && code != 409) {
		return nil, fmt.Errorf("create bucket: %d %v", code, err)
	}
	before, err := readStatus(c.PID)
	if err != nil {
		return nil, err
	}
	body := bytes.Repeat([]byte("s3bench stall "), int(c.Size/14)+1)[:c.Size]
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])

	conns := make([]net.Conn, c.Count)
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				conn, err := c.stalled(u.Host, fmt.Sprintf("/%s/stall-%d-%s", c.Bucket, i, c.Payload), body, bodyHash)
				mu.Lock()
				conns[i] = conn
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := range c.Count {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	time.Sleep(c.Settle)
	res := &StallResult{Payload: c.Payload, Count: c.Count, Size: c.Size, Tail: c.Tail, RSSBeforeMiB: kib(before.rss)}
	for range 5 { // the largest of a few readings
		st, err := readStatus(c.PID)
		if err != nil {
			return nil, err
		}
		res.RSSStalledMiB = max(res.RSSStalledMiB, kib(st.rss))
		time.Sleep(100 * time.Millisecond)
	}
	// A request the server answered while its body was held was refused
	// (a cap, a timeout): it holds nothing, so say how many there were.
	for _, conn := range conns {
		_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if n, _ := conn.Read(b[:]); n > 0 {
			res.Answered++
		}
	}
	res.PerUploadKiB = (res.RSSStalledMiB - res.RSSBeforeMiB) * 1024 / float64(c.Count)
	return res, nil
}

// sign signs req (header form) with payload as x-amz-content-sha256.
func (c stallConfig) sign(req *http.Request, payload string) error {
	req.Header.Set("X-Amz-Content-Sha256", payload)
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey}, req, payload, "s3", c.Region, time.Now())
}

// send makes a complete signed PUT and returns its status.
func (c stallConfig) send(ctx context.Context, host, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "PUT", "http://"+host+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256(body)
	if err := c.sign(req, hex.EncodeToString(sum[:])); err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// stalled opens a connection and sends a PUT of body to path without its
// last c.Tail bytes (of the framed body, for chunked).
func (c stallConfig) stalled(host, path string, body []byte, bodyHash string) (net.Conn, error) {
	req, _ := http.NewRequest("PUT", "http://"+host+path, nil)
	wire := body
	if c.Payload == payloadChunked {
		const chunkSize = 64 << 10
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
		req.ContentLength = chunkedLength(int64(len(body)), chunkSize)
		if err := c.sign(req, streamingSigned); err != nil {
			return nil, err
		}
		var err error
		if wire, err = frameChunked(req, c.SecretKey, body, chunkSize); err != nil {
			return nil, err
		}
	} else {
		req.ContentLength = int64(len(body))
		if err := c.sign(req, bodyHash); err != nil {
			return nil, err
		}
	}
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, host, len(wire))
	_ = req.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err == nil {
		_, err = conn.Write(wire[:len(wire)-int(c.Tail)])
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// frameChunked frames body as signed aws-chunked, chaining the chunk
// signatures from req's seed signature.
func frameChunked(req *http.Request, secret string, body []byte, chunkSize int) ([]byte, error) {
	auth := req.Header.Get("Authorization")
	_, cred, _ := strings.Cut(auth, "Credential=")
	cred, _, _ = strings.Cut(cred, ",")
	_, scope, _ := strings.Cut(cred, "/")
	_, seed, _ := strings.Cut(auth, "Signature=")
	key, err := signingKey(secret, scope)
	if err != nil || len(seed) < sigLen {
		return nil, fmt.Errorf("chunked payload: bad Authorization %q: %v", auth, err)
	}
	s := chunkSigner{key: key, amzDate: req.Header.Get("X-Amz-Date"), scope: scope, prev: seed[:sigLen]}
	out := make([]byte, 0, chunkedLength(int64(len(body)), chunkSize))
	for {
		n := min(chunkSize, len(body))
		out = strconv.AppendInt(out, int64(n), 16)
		out = append(out, ";chunk-signature="...)
		out = append(out, s.sign(body[:n])...)
		out = append(out, "\r\n"...)
		out = append(out, body[:n]...)
		out = append(out, "\r\n"...)
		if n == 0 {
			return out, nil
		}
		body = body[n:]
	}
}
