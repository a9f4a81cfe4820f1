package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/sse"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// sseEnv is a gateway encrypting on an embedded store in dir.
type sseEnv struct {
	*testEnv
	dir string
	st  *embedded.Store
}

// newSSEEnv serves an embedded store in dir (a new one if ""), with the
// order keys in dir's key file and SSE-C over plain HTTP from loopback.
func newSSEEnv(t *testing.T, dir string) *sseEnv {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := embedded.Open(dir, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := sse.OpenKeyring(filepath.Join(dir, sse.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion,
		Encryption: kr, SSECPlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli := s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	return &sseEnv{testEnv: &testEnv{t: t, h: h, srv: srv, s3: cli}, dir: dir, st: st}
}

// customer is an SSE-C key and its headers.
type customer []byte

func newCustomer() customer {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func (c customer) b64() string { return base64.StdEncoding.EncodeToString(c) }
func (c customer) md5() string {
	s := md5.Sum(c)
	return base64.StdEncoding.EncodeToString(s[:])
}

// headers returns the SSE-C headers of c (prefix "" or "copy-source-").
func (c customer) headers(prefix string) map[string]string {
	p := "x-amz-" + prefix + "server-side-encryption-customer-"
	return map[string]string{p + "algorithm": "AES256", p + "key": c.b64(), p + "key-MD5": c.md5()}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var sseS3 = map[string]string{"x-amz-server-side-encryption": "AES256"}

func randData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func (e *sseEnv) must(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	resp, b := e.do(method, path, body, hdr)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp, b
}

// multipart uploads parts to path with hdr on every request but
// Complete, and returns the uploaded data.
func (e *sseEnv) multipart(path string, hdr map[string]string, createHdr map[string]string, sizes ...int) []byte {
	e.t.Helper()
	_, b := e.must("POST", path+"?uploads", nil, merge(hdr, createHdr))
	var init struct{ UploadId string }
	xml.Unmarshal(b, &init)
	var all []byte
	var parts strings.Builder
	parts.WriteString("<CompleteMultipartUpload>")
	for i, n := range sizes {
		data := randData(n)
		all = append(all, data...)
		resp, _ := e.must("PUT", fmt.Sprintf("%s?partNumber=%d&uploadId=%s", path, i+1, init.UploadId), data, hdr)
		fmt.Fprintf(&parts, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, resp.Header.Get("ETag"))
	}
	parts.WriteString("</CompleteMultipartUpload>")
	e.must("POST", path+"?uploadId="+init.UploadId, []byte(parts.String()), nil)
	return all
}

// wantBytes GETs path with hdr (and a Range if rng != "") and checks the
// body.
func (e *sseEnv) wantBytes(path string, hdr map[string]string, rng string, want []byte) *http.Response {
	e.t.Helper()
	if rng != "" {
		hdr = merge(hdr, map[string]string{"Range": rng})
	}
	resp, b := e.must("GET", path, nil, hdr)
	if !bytes.Equal(b, want) {
		e.t.Fatalf("GET %s %s: %d bytes differ from the %d written", path, rng, len(b), len(want))
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
		e.t.Fatalf("GET %s %s: Content-Length %s, want %d", path, rng, cl, len(want))
	}
	return resp
}

// listedSize returns the size ListObjectsV2 shows for key.
func (e *sseEnv) listedSize(bucket, key string) int64 {
	e.t.Helper()
	out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil || len(out.Contents) == 0 {
		e.t.Fatalf("list %s: %v", key, err)
	}
	return *out.Contents[0].Size
}

const seg = sse.SegmentSize

func TestSSERoundTrips(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	c := newCustomer()
	modes := []struct {
		name    string
		hdr     map[string]string
		respHdr string // the response header naming the mode
		md5ETag bool   // the ETag is the plaintext's MD5
	}{
		{"none", nil, "", true},
		{"SSE-S3", sseS3, "X-Amz-Server-Side-Encryption", true},
		{"SSE-C", c.headers(""), "X-Amz-Server-Side-Encryption-Customer-Key-Md5", false},
	}
	readHdr := func(hdr map[string]string) map[string]string {
		if _, ok := hdr["x-amz-server-side-encryption"]; ok {
			return nil // SSE-S3 reads need nothing
		}
		return hdr
	}
	for _, m := range modes {
		for _, size := range []int{0, 1, seg - 1, seg, seg + 1, 3*seg + 17} {
			t.Run(fmt.Sprintf("%s/%d", m.name, size), func(t *testing.T) {
				e.t = t
				path := fmt.Sprintf("/bkt/%s-%d", m.name, size)
				data := randData(size)
				resp, _ := e.must("PUT", path, data, m.hdr)
				sum := md5.Sum(data)
				if got := strings.Trim(resp.Header.Get("ETag"), `"`); (got == hex.EncodeToString(sum[:])) != m.md5ETag {
					t.Errorf("ETag %s; plaintext MD5 %x (want it used: %v)", got, sum, m.md5ETag)
				}
				if m.respHdr != "" && resp.Header.Get(m.respHdr) == "" {
					t.Errorf("PUT answer without %s", m.respHdr)
				}
				got := e.wantBytes(path, readHdr(m.hdr), "", data)
				if m.respHdr != "" && got.Header.Get(m.respHdr) == "" {
					t.Errorf("GET answer without %s", m.respHdr)
				}
				head, _ := e.must("HEAD", path, nil, readHdr(m.hdr))
				if head.Header.Get("Content-Length") != strconv.Itoa(size) || (m.respHdr != "" && head.Header.Get(m.respHdr) == "") {
					t.Errorf("HEAD: Content-Length %s, headers %v", head.Header.Get("Content-Length"), head.Header)
				}
				if n := e.listedSize("bkt", path[5:]); n != int64(size) {
					t.Errorf("listed size %d, want %d", n, size)
				}
				for _, r := range [][2]int{{0, 0}, {seg - 2, seg + 1}, {seg, seg}, {size / 2, size - 1}, {1, 2 * seg}} {
					if size == 0 || r[0] >= size {
						continue
					}
					end := min(r[1], size-1)
					e.wantBytes(path, readHdr(m.hdr), fmt.Sprintf("bytes=%d-%d", r[0], end), data[r[0]:end+1])
				}
				if size > 10 {
					e.wantBytes(path, readHdr(m.hdr), "bytes=-10", data[size-10:])
				}
			})
		}
	}
}

func TestSSECKeys(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	c, other := newCustomer(), newCustomer()
	data := randData(1000)
	e.must("PUT", "/bkt/c", data, c.headers(""))
	e.must("PUT", "/bkt/s3", data, sseS3)
	e.must("PUT", "/bkt/plain", data, nil)
	badMD5 := c.headers("")
	badMD5["x-amz-server-side-encryption-customer-key-MD5"] = other.md5()
	shortKey := c.headers("")
	shortKey["x-amz-server-side-encryption-customer-key"] = base64.StdEncoding.EncodeToString(c[:16])
	noMD5 := c.headers("")
	delete(noMD5, "x-amz-server-side-encryption-customer-key-MD5")
	noKey := c.headers("")
	delete(noKey, "x-amz-server-side-encryption-customer-key")
	badAlg := c.headers("")
	badAlg["x-amz-server-side-encryption-customer-algorithm"] = "AES128"
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		code               string
	}{
		{"GET without key", "GET", "/bkt/c", nil, 400, "InvalidRequest"},
		{"HEAD without key", "HEAD", "/bkt/c", nil, 400, ""},
		{"GET wrong key", "GET", "/bkt/c", other.headers(""), 403, "AccessDenied"},
		{"HEAD wrong key", "HEAD", "/bkt/c", other.headers(""), 403, ""},
		{"attributes wrong key", "GET", "/bkt/c?attributes", merge(other.headers(""), map[string]string{"x-amz-object-attributes": "ObjectSize"}), 403, "AccessDenied"},
		{"key of another mode (SSE-S3)", "GET", "/bkt/s3", c.headers(""), 400, "InvalidRequest"},
		{"key of an unencrypted object", "GET", "/bkt/plain", c.headers(""), 400, "InvalidRequest"},
		{"MD5 mismatch", "GET", "/bkt/c", badMD5, 400, "InvalidArgument"},
		{"short key", "PUT", "/bkt/x", shortKey, 400, "InvalidArgument"},
		{"no MD5", "PUT", "/bkt/x", noMD5, 400, "InvalidArgument"},
		{"no key", "PUT", "/bkt/x", noKey, 400, "InvalidArgument"},
		{"bad algorithm", "PUT", "/bkt/x", badAlg, 400, "InvalidEncryptionAlgorithmError"},
		{"SSE-S3 and SSE-C", "PUT", "/bkt/x", merge(sseS3, c.headers("")), 400, "InvalidArgument"},
		{"SSE-KMS", "PUT", "/bkt/x", map[string]string{"x-amz-server-side-encryption": "aws:kms"}, 501, "NotImplemented"},
		{"KMS key id", "PUT", "/bkt/x", map[string]string{"x-amz-server-side-encryption-aws-kms-key-id": "k"}, 501, "NotImplemented"},
		{"unknown method", "PUT", "/bkt/x", map[string]string{"x-amz-server-side-encryption": "AES128"}, 400, "InvalidArgument"},
		{"copy source without key", "PUT", "/bkt/x", map[string]string{"x-amz-copy-source": "/bkt/c"}, 400, "InvalidRequest"},
		{"copy source wrong key", "PUT", "/bkt/x", merge(map[string]string{"x-amz-copy-source": "/bkt/c"}, other.headers("copy-source-")), 403, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, []byte{}, tc.hdr)
			if tc.method == "PUT" && !strings.Contains(tc.path, "?") {
				resp, body = e.do(tc.method, tc.path, []byte("x"), tc.hdr)
			}
			wantError(t, resp, body, tc.status, tc.code)
			if tc.code == "NotImplemented" && !(strings.Contains(string(body), "SSE-S3") && strings.Contains(string(body), "SSE-C")) {
				t.Errorf("the refusal does not name the supported modes: %s", body)
			}
		})
	}
	if resp, _ := e.do("HEAD", "/bkt/x", nil, nil); resp.StatusCode != 404 {
		t.Errorf("a refused PUT stored an object: HEAD %d", resp.StatusCode)
	}
	e.wantBytes("/bkt/c", c.headers(""), "", data)
	resp := e.wantBytes("/bkt/c", c.headers(""), "bytes=10-19", data[10:20])
	if resp.Header.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" || resp.Header.Get("x-amz-server-side-encryption-customer-key-MD5") != c.md5() {
		t.Errorf("SSE-C response headers %v", resp.Header)
	}
}

func TestSSECNeedsTLS(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr, err := sse.ParseKeyring([]byte("1 " + strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion, Encryption: kr})
	if err != nil {
		t.Fatal(err)
	}
	for name, newServer := range map[string]func(http.Handler) *httptest.Server{"plain": httptest.NewServer, "TLS": httptest.NewTLSServer} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(h)
			defer srv.Close()
			e := &testEnv{t: t, h: h, srv: srv}
			send := func(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
				req := e.rawRequest(method, path, body)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				sign(t, req, body, testAK, testSK, time.Now())
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b := new(bytes.Buffer)
				b.ReadFrom(resp.Body)
				return resp, b.Bytes()
			}
			send("PUT", "/bkt", nil, nil)
			resp, body := send("PUT", "/bkt/k", []byte("data"), newCustomer().headers(""))
			if name == "plain" {
				wantError(t, resp, body, 400, "InvalidRequest")
				wantMessage(t, body, "secure connection")
			} else if resp.StatusCode != 200 {
				t.Fatalf("over TLS: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestSSEMultipart(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	c := newCustomer()
	const mib = 1 << 20
	for _, m := range []struct {
		name      string
		hdr, read map[string]string
	}{
		{"SSE-S3", nil, nil},
		{"SSE-C", c.headers(""), c.headers("")},
	} {
		t.Run(m.name, func(t *testing.T) {
			e.t = t
			path := "/bkt/mp-" + m.name
			create := sseS3
			if m.hdr != nil {
				create = nil
			}
			sizes := []int{5*mib + 100, 5 * mib, seg + 3}
			data := e.multipart(path, m.hdr, create, sizes...)
			e.wantBytes(path, m.read, "", data)
			p1, p2 := sizes[0], sizes[0]+sizes[1]
			for _, r := range [][2]int{{p1 - 5, p1 + 5}, {p1 - 1, p2}, {p2 - seg, len(data) - 1}, {seg - 1, seg}, {p1, p1}} {
				e.wantBytes(path, m.read, fmt.Sprintf("bytes=%d-%d", r[0], r[1]), data[r[0]:r[1]+1])
			}
			resp := e.wantBytes(path+"?partNumber=2", m.read, "", data[p1:p2])
			if resp.Header.Get("x-amz-mp-parts-count") != "3" {
				t.Errorf("parts count %q", resp.Header.Get("x-amz-mp-parts-count"))
			}
			if n := e.listedSize("bkt", path[5:]); n != int64(len(data)) {
				t.Errorf("listed size %d, want %d", n, len(data))
			}
			head, _ := e.must("HEAD", path, nil, m.read)
			if head.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
				t.Errorf("HEAD Content-Length %s", head.Header.Get("Content-Length"))
			}
		})
	}
	t.Run("SSE-C part keys", func(t *testing.T) {
		e.t = t
		_, b := e.must("POST", "/bkt/k?uploads", nil, c.headers(""))
		var init struct{ UploadId string }
		xml.Unmarshal(b, &init)
		part := "/bkt/k?partNumber=1&uploadId=" + init.UploadId
		resp, body := e.do("PUT", part, []byte("x"), nil)
		wantError(t, resp, body, 400, "InvalidRequest")
		resp, body = e.do("PUT", part, []byte("x"), newCustomer().headers(""))
		wantError(t, resp, body, 400, "InvalidRequest")
		_, b = e.must("POST", "/bkt/p?uploads", nil, nil)
		xml.Unmarshal(b, &init)
		resp, body = e.do("PUT", "/bkt/p?partNumber=1&uploadId="+init.UploadId, []byte("x"), c.headers(""))
		wantError(t, resp, body, 400, "InvalidRequest")
	})
}

func TestSSECopies(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	c1, c2 := newCustomer(), newCustomer()
	modes := map[string]struct{ write, read, src map[string]string }{
		"none":   {nil, nil, nil},
		"SSE-S3": {sseS3, nil, nil},
		"SSE-C1": {c1.headers(""), c1.headers(""), c1.headers("copy-source-")},
		"SSE-C2": {c2.headers(""), c2.headers(""), c2.headers("copy-source-")},
	}
	data := randData(2*seg + 5)
	for from, fm := range modes {
		src := "/bkt/src-" + from
		e.must("PUT", src, data, fm.write)
		for to, tm := range modes {
			t.Run(from+"->"+to, func(t *testing.T) {
				e.t = t
				dst := "/bkt/dst-" + from + "-" + to
				resp, body := e.must("PUT", dst, nil, merge(map[string]string{"x-amz-copy-source": src}, fm.src, tm.write))
				if to == "SSE-S3" && resp.Header.Get("x-amz-server-side-encryption") != "AES256" {
					t.Errorf("copy answer without x-amz-server-side-encryption: %s", body)
				}
				e.wantBytes(dst, tm.read, "", data)
				if to == "none" || to == "SSE-S3" {
					sum := md5.Sum(data)
					if !strings.Contains(string(body), hex.EncodeToString(sum[:])) {
						t.Errorf("copy ETag is not the plaintext MD5: %s", body)
					}
				}
				// UploadPartCopy of a range into an upload of mode to
				_, b := e.must("POST", dst+"-mp?uploads", nil, tm.write)
				var init struct{ UploadId string }
				xml.Unmarshal(b, &init)
				resp, b = e.must("PUT", dst+"-mp?partNumber=1&uploadId="+init.UploadId, nil,
					merge(map[string]string{"x-amz-copy-source": src, "x-amz-copy-source-range": fmt.Sprintf("bytes=%d-%d", seg-3, 2*seg+1)}, fm.src, tm.read))
				var res struct{ ETag string }
				xml.Unmarshal(b, &res)
				e.must("POST", dst+"-mp?uploadId="+init.UploadId, []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"+res.ETag+"</ETag></Part></CompleteMultipartUpload>"), nil)
				e.wantBytes(dst+"-mp", tm.read, "", data[seg-3:2*seg+2])
			})
		}
	}
}

func TestBucketEncryption(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	resp, body := e.do("GET", "/bkt?encryption", nil, nil)
	wantError(t, resp, body, 404, "ServerSideEncryptionConfigurationNotFoundError")
	doc := func(alg, extra string) []byte {
		return []byte(`<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>` +
			alg + `</SSEAlgorithm>` + extra + `</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"aws:kms", doc("aws:kms", ""), 501, "NotImplemented"},
		{"unknown", doc("AES128", ""), 400, "InvalidArgument"},
		{"kms key with AES256", doc("AES256", "<KMSMasterKeyID>k</KMSMasterKeyID>"), 400, "InvalidArgument"},
		{"no rule", []byte(`<ServerSideEncryptionConfiguration/>`), 400, "MalformedXML"},
		{"not XML", []byte(`{`), 400, "MalformedXML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do("PUT", "/bkt?encryption", tc.body, nil)
			wantError(t, resp, body, tc.status, tc.code)
		})
	}
	e.must("PUT", "/bkt?encryption", doc("AES256", ""), nil)
	_, got := e.must("GET", "/bkt?encryption", nil, nil)
	if !strings.Contains(string(got), "<SSEAlgorithm>AES256</SSEAlgorithm>") {
		t.Fatalf("GetBucketEncryption: %s", got)
	}
	data := []byte("default encrypted")
	resp, _ = e.must("PUT", "/bkt/k", data, nil)
	if resp.Header.Get("x-amz-server-side-encryption") != "AES256" {
		t.Error("a PUT into a bucket with default encryption: no x-amz-server-side-encryption")
	}
	c := newCustomer()
	e.must("PUT", "/bkt/c", data, c.headers("")) // SSE-C wins over the default
	e.wantBytes("/bkt/c", c.headers(""), "", data)
	e.multipart("/bkt/mp", nil, nil, 10)
	if head, _ := e.must("HEAD", "/bkt/mp", nil, nil); head.Header.Get("x-amz-server-side-encryption") != "AES256" {
		t.Error("a multipart upload into a bucket with default encryption is not encrypted")
	}
	e.must("DELETE", "/bkt?encryption", nil, nil)
	resp, _ = e.must("PUT", "/bkt/k2", data, nil)
	if resp.Header.Get("x-amz-server-side-encryption") != "" {
		t.Error("encrypted after the default was deleted")
	}
	e.wantBytes("/bkt/k", nil, "", data)
}

// TestSSEOnDisk: no plaintext reaches the store's directory, and bytes
// changed there are an error on read, never other bytes.
func TestSSEOnDisk(t *testing.T) {
	e := newSSEEnv(t, "")
	e.must("PUT", "/bkt", nil, nil)
	marker := []byte("PLAINTEXT-MARKER-7f3a9c")
	body := func(n int) []byte { return bytes.Repeat(marker, n/len(marker)+1)[:n] }
	c := newCustomer()
	e.must("PUT", "/bkt/small-s3", body(100), sseS3)
	e.must("PUT", "/bkt/small-c", body(100), c.headers(""))
	e.must("PUT", "/bkt/big-s3", body(3*seg), sseS3)
	e.must("PUT", "/bkt/big-c", body(3*seg), c.headers(""))
	_, b := e.must("POST", "/bkt/mp?uploads", nil, sseS3)
	var init struct{ UploadId string }
	xml.Unmarshal(b, &init)
	e.must("PUT", "/bkt/mp?partNumber=1&uploadId="+init.UploadId, body(2*seg), nil)
	e.st.Close() // flush everything to the files
	files := 0
	filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, marker[:12]) {
			t.Errorf("plaintext in %s", path)
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("only %d files in the store", files)
	}
}

func TestSSETamperedDataFile(t *testing.T) {
	dir := t.TempDir()
	e := newSSEEnv(t, dir)
	e.must("PUT", "/bkt", nil, nil)
	data := randData(3 * seg)
	e.must("PUT", "/bkt/k", data, sseS3)
	// the object's data file: the one of its stored size under data/
	var path string
	filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && !d.IsDir() && fi.Size() == sse.CipherSize(int64(len(data))) {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatal("no data file of the object's stored size")
	}
	for _, off := range []int64{100, 2*(seg+sse.Overhead) + 50} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1)
			f.ReadAt(b, off)
			b[0] ^= 0x55
			f.WriteAt(b, off)
			defer func() { b[0] ^= 0x55; f.WriteAt(b, off); f.Close() }()
			req := e.rawRequest("GET", "/bkt/k", nil)
			sign(t, req, nil, testAK, testSK, time.Now())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := new(bytes.Buffer)
			_, rerr := got.ReadFrom(resp.Body)
			switch {
			case resp.StatusCode == 500:
			case resp.StatusCode == 200 && rerr != nil && bytes.Equal(got.Bytes(), data[:got.Len()]):
				// a later segment: the transfer breaks after the good ones
			default:
				t.Fatalf("tampered object: status %d, %d bytes, read error %v", resp.StatusCode, got.Len(), rerr)
			}
		})
	}
	e.wantBytes("/bkt/k", nil, "", data) // restored
}

func TestSSEKeyRotation(t *testing.T) {
	dir := t.TempDir()
	e := newSSEEnv(t, dir)
	e.must("PUT", "/bkt", nil, nil)
	old := randData(seg + 9)
	e.must("PUT", "/bkt/old", old, sseS3)
	e.must("PUT", "/bkt/old2", old, sseS3)
	e.st.Close()
	e.srv.Close()
	if _, err := sse.AddKey(filepath.Join(dir, sse.KeyFileName)); err != nil {
		t.Fatal(err)
	}
	e = newSSEEnv(t, dir)
	e.wantBytes("/bkt/old", nil, "", old)
	e.must("PUT", "/bkt/new", old, sseS3)
	// a copy onto itself asking for SSE-S3 re-encrypts under the new key
	e.must("PUT", "/bkt/old2", nil, merge(sseS3, map[string]string{"x-amz-copy-source": "/bkt/old2"}))
	e.wantBytes("/bkt/old2", nil, "", old)
	resp, body := e.do("PUT", "/bkt/old", nil, map[string]string{"x-amz-copy-source": "/bkt/old"})
	wantError(t, resp, body, 400, "InvalidRequest") // nothing changes: refused as before
	for key, want := range map[string]string{"old": "S3 1 ", "new": "S3 2 ", "old2": "S3 2 "} {
		o, err := e.st.HeadObject(context.Background(), "bkt", key)
		if err != nil || !strings.HasPrefix(o.Meta.Encryption, want) {
			t.Errorf("%s: descriptor %q, %v; want it wrapped by key %q", key, o.Meta.Encryption, err, want)
		}
	}
}

// TestSSERefusedWithoutKeys: a gateway without order keys (upstream mode)
// refuses encryption rather than storing plaintext, on every operation
// that takes encryption headers.
func TestSSERefusedWithoutKeys(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/bkt", nil, nil)
	e.do("PUT", "/bkt/k", []byte("data"), nil)
	_, b := e.do("POST", "/bkt/m?uploads", nil, nil)
	var init struct{ UploadId string }
	xml.Unmarshal(b, &init)
	part := "/bkt/m?partNumber=1&uploadId=" + init.UploadId
	c := newCustomer().headers("")
	src := merge(map[string]string{"x-amz-copy-source": "/bkt/k"}, newCustomer().headers("copy-source-"))
	copyTo := map[string]string{"x-amz-copy-source": "/bkt/k"}
	kms := map[string]string{"x-amz-server-side-encryption": "aws:kms"}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		body               []byte
		status             int
		code               string
	}{
		{"PutObject SSE-S3", "PUT", "/bkt/n", sseS3, []byte("x"), 501, "NotImplemented"},
		{"PutObject SSE-C", "PUT", "/bkt/n", c, []byte("x"), 501, "NotImplemented"},
		{"PutObject SSE-KMS", "PUT", "/bkt/n", kms, []byte("x"), 501, "NotImplemented"},
		{"CopyObject SSE-S3", "PUT", "/bkt/n", merge(copyTo, sseS3), nil, 501, "NotImplemented"},
		{"CopyObject SSE-C", "PUT", "/bkt/n", merge(copyTo, c), nil, 501, "NotImplemented"},
		{"CopyObject SSE-C source", "PUT", "/bkt/n", src, nil, 400, "InvalidRequest"},
		{"CreateMultipartUpload SSE-S3", "POST", "/bkt/n?uploads", sseS3, nil, 501, "NotImplemented"},
		{"CreateMultipartUpload SSE-C", "POST", "/bkt/n?uploads", c, nil, 501, "NotImplemented"},
		{"UploadPart SSE-C", "PUT", part, c, []byte("x"), 501, "NotImplemented"},
		{"UploadPartCopy SSE-C", "PUT", part, merge(copyTo, c), nil, 501, "NotImplemented"},
		{"UploadPartCopy SSE-C source", "PUT", part, src, nil, 400, "InvalidRequest"},
		{"GetObject SSE-C", "GET", "/bkt/k", c, nil, 400, "InvalidRequest"},
		{"HeadObject SSE-C", "HEAD", "/bkt/k", c, nil, 400, ""},
		{"PutBucketEncryption", "PUT", "/bkt?encryption", nil, []byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`), 501, "NotImplemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, tc.body, tc.hdr)
			wantError(t, resp, body, tc.status, tc.code)
		})
	}
	if resp, _ := e.do("HEAD", "/bkt/n", nil, nil); resp.StatusCode != 404 {
		t.Errorf("a refused write stored an object: HEAD %d", resp.StatusCode)
	}
}
