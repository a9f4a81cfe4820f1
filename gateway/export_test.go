package gateway

import (
	"net/http"
	"reflect"
	"strings"
)

// RouteInfo describes one route of the table, for the external tests.
type RouteInfo struct {
	Op     string
	Writes bool
	// Form: the request is authenticated by a POST form's policy.
	Form bool
	// Method, Path (with the query selecting it) and Header make a request
	// the route serves, on bucket "bkt" and key "k".
	Method, Path string
	Header       http.Header
}

// Routes lists the route table.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range routes {
		ri := RouteInfo{Op: rt.op, Writes: rt.perm.writes(), Form: rt.perm == permPostPolicy, Method: rt.method, Header: http.Header{}}
		ri.Path = [...]string{"/", "/bkt", "/bkt/k"}[rt.target]
		var q []string
		if rt.sub != "" {
			q = append(q, rt.sub)
		}
		switch {
		case rt.when == nil:
		case sameFunc(rt.when, listTypeV2):
			q = append(q, "list-type=2")
		case sameFunc(rt.when, hasCopySource):
			ri.Header.Set("x-amz-copy-source", "/bkt/k")
		default:
			panic("Routes: a condition this test helper does not know")
		}
		if len(q) > 0 {
			ri.Path += "?" + strings.Join(q, "&")
		}
		out = append(out, ri)
	}
	return out
}

// RouteFor returns the operation r is routed to ("" when none) and
// whether it writes.
func RouteFor(h *Handler, r *http.Request) (op string, writes bool) {
	b, k, _ := h.bucketAndKey(r)
	rt := h.route(r, b, k)
	if rt == nil {
		return "", false
	}
	return rt.op, rt.perm.writes()
}

func sameFunc(a, b func(*http.Request) bool) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// RefusedHeader is one entry of the refused-header table.
type RefusedHeader struct {
	Name   string
	Ops    []string
	Code   string
	Status int
}

// RefusedHeaders lists the refused-header table.
func RefusedHeaders() []RefusedHeader {
	var out []RefusedHeader
	for _, rh := range refusedHeaders {
		out = append(out, RefusedHeader{rh.name, rh.ops, rh.err.Code, rh.err.Status})
	}
	return out
}
