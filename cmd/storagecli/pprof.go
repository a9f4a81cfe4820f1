package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"go.uber.org/zap"
)

// pprofEnv names the environment variable that, when set to a host:port,
// makes a running gateway serve Go's profiling endpoints (/debug/pprof/)
// there. It is off by default and meant for loopback addresses only: the
// profiles are not authenticated.
const pprofEnv = "STORAGECLI_PPROF"

// startPprof serves net/http/pprof on $STORAGECLI_PPROF, if set. Failure to
// listen is logged, never fatal.
func startPprof(log *zap.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof listener", zap.String("address", addr), zap.Error(err))
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("serving pprof", zap.String("address", ln.Addr().String()))
	go func() { _ = http.Serve(ln, mux) }()
}
