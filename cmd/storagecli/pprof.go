package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"go.uber.org/zap"
)

// pprofEnv names the environment variable that, when set to a loopback
// host:port (127.0.0.1:6060, [::1]:6060, localhost:6060), makes a running
// gateway serve Go's profiling endpoints (/debug/pprof/) there. The
// endpoints are not authenticated, so any other address is refused; and
// /debug/pprof/cmdline, which would show the command line (and a
// --gateway.secret_key given there), is not served.
const pprofEnv = "STORAGECLI_PPROF"

// startPprof serves pprof on $STORAGECLI_PPROF, if set. A refused address
// or a failure to listen is logged, never fatal.
func startPprof(log *zap.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	ln, err := listenPprof(addr)
	if err != nil {
		log.Warn("pprof not served", zap.String("address", addr), zap.Error(err))
		return
	}
	log.Info("serving pprof", zap.String("address", ln.Addr().String()))
	go func() { _ = http.Serve(ln, pprofMux()) }()
}

// listenPprof listens on addr, which must be a loopback address (a name
// must resolve to loopback addresses only).
func listenPprof(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	if host == "" {
		return nil, fmt.Errorf("%s=%s listens on every interface: give a loopback address such as 127.0.0.1:6060 (the profiles are not authenticated)", pprofEnv, addr)
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = net.LookupIP(host); err != nil {
			return nil, fmt.Errorf("%s: %w", pprofEnv, err)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("%s=%s is not a loopback address (the profiles are not authenticated): use 127.0.0.1, [::1] or localhost", pprofEnv, addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%s=%s: listening on %s, not a loopback address", pprofEnv, addr, ln.Addr())
	}
	return ln, nil
}

// pprofMux serves the profiles, without /debug/pprof/cmdline.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/cmdline" {
			http.Error(w, "not served: the command line may hold a secret key", http.StatusNotFound)
			return
		}
		pprof.Index(w, r)
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
